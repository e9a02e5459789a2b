import Cache
import NIOCore
import NIOHTTP1

/// One client's view of a backend call: turns flight events into writes on its connection,
/// in the mode the client asked for.
struct Delivery {
    let request: InferenceRequest
    /// RFC 9211 forward reason: miss, request, bypass.
    let fwd: String
    let collapsed: Bool
    var outcome: ResponseOutcome
    private var streaming = false
    private let started = Clock.monotonicNow()

    init(request: InferenceRequest, fwd: String, collapsed: Bool, outcome: ResponseOutcome) {
        self.request = request
        self.fwd = fwd
        self.collapsed = collapsed
        self.outcome = outcome
    }

    private func missHeaders(stored: Bool, backend: String?) -> [(String, String)] {
        var headers = [
            ("cache-status", CacheStatus.forward(fwd, stored: stored, collapsed: collapsed, key: request.cacheKey))
        ]
        if let key = request.cacheKey { headers.append(("x-tollgate-cache-key", key.hex)) }
        headers.append(("x-tollgate-route", request.route.name))
        if let backend { headers.append(("x-tollgate-backend", backend)) }
        headers.append(contentsOf: request.rate.headers)
        headers.append(contentsOf: request.limitHeaders)
        return headers
    }

    /// What this client paid and saved: the leader pays the call; a client that joined it saved that.
    private func costHeaders(_ entry: CachedResponse, pipeline: InferencePipeline) -> [(String, String)] {
        let cost = entry.costUSD ?? 0
        if collapsed {
            pipeline.limits.recordSaving(cost, caller: request.caller, route: request.route.name)
            return [("x-tollgate-cost-usd", USD.format(0)), ("x-tollgate-saved-usd", USD.format(cost))]
        }
        return [("x-tollgate-cost-usd", USD.format(cost)), ("x-tollgate-saved-usd", USD.format(0))]
    }

    /// Handles one event; returns true once the response is complete.
    mutating func handle(_ event: FlightEvent, pipeline: InferencePipeline, sink: some ResponseSink) -> Bool {
        switch event {
        case .streamStarted(let backend):
            outcome.backend = backend
            guard request.wantsStream else { return false }
            streaming = true
            sink.startStream(
                status: .ok,
                headers: ResponseRenderer.headers(
                    contentType: "text/event-stream",
                    length: nil,
                    extra: missHeaders(stored: false, backend: backend)
                )
            )
            return false
        case .event(let payload, let isUsage):
            guard streaming, !isUsage || request.includeUsage else { return false }
            sink.streamChunk(ResponseRenderer.event(payload, allocator: sink.allocator))
            return false
        case .finished(let result):
            finish(result, pipeline: pipeline, sink: sink)
            return true
        }
    }

    /// Writes the end of the response for a call's result.
    mutating func finish(_ result: FlightResult, pipeline: InferencePipeline, sink: some ResponseSink) {
        outcome.upstreamSeconds = Clock.monotonicNow() - started
        switch result {
        case .success(let entry, let stored, let backend):
            outcome.backend = backend
            if !collapsed { outcome.costUSD = entry.costUSD }
            if stored { pipeline.recordAlias(request) }
            if streaming {
                var done = sink.allocator.buffer(capacity: ResponseRenderer.sseDone.count)
                done.writeBytes(ResponseRenderer.sseDone)
                sink.streamChunk(done)
                if collapsed { _ = costHeaders(entry, pipeline: pipeline) }
                sink.endStream(outcome: outcome)
            } else {
                pipeline.sendStored(
                    entry,
                    request: request,
                    extraHeaders: missHeaders(stored: stored, backend: backend) + costHeaders(entry, pipeline: pipeline),
                    sink: sink,
                    outcome: outcome
                )
            }
        case .upstreamError(let status, let body, let backend):
            outcome.backend = backend
            let (buffer, _) = InferencePipeline.errorBody(status: status, body: body, allocator: sink.allocator)
            if streaming {
                sink.streamChunk(ResponseRenderer.event(Array(buffer: buffer), allocator: sink.allocator))
                sink.abortStream(outcome: outcome)
            } else {
                let headers = ResponseRenderer.headers(
                    contentType: "application/json",
                    length: buffer.readableBytes,
                    extra: missHeaders(stored: false, backend: backend)
                )
                sink.respond(status: HTTPResponseStatus(statusCode: status), headers: headers, body: buffer, outcome: outcome)
            }
        case .failed(let error, let backend):
            outcome.backend = backend
            if streaming {
                sink.streamChunk(ResponseRenderer.event(error.body, allocator: sink.allocator))
                sink.abortStream(outcome: outcome)
            } else {
                sink.respond(error: error, headers: missHeaders(stored: false, backend: nil), outcome: outcome)
            }
        }
    }
}
