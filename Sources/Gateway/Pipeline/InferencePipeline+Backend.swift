import AsyncHTTPClient
import Cache
import NIOCore
import NIOHTTP1
import Router

extension InferencePipeline {
    /// Runs the backend call for a flight and publishes its result to every subscriber.
    func run(_ flight: Flight, request: InferenceRequest, registered: Bool, admission: LimitEnforcer.Admission) async {
        let result = await call(request: request, streaming: flight.streaming, relayTo: flight, admission: admission)
        flight.publish(.finished(result))
        if registered { flights.remove(flight) }
    }

    /// The backend call itself: attempts in plan order, retries with jittered backoff,
    /// fallbacks on the statuses the route names, then a good answer is stored. A stream is
    /// relayed to `flight` event by event while it arrives. The spend is settled (and durable)
    /// before the result is published, so no client sees the end of a response that is not booked.
    func call(
        request: InferenceRequest, streaming: Bool, relayTo flight: Flight?, admission: LimitEnforcer.Admission
    ) async -> FlightResult {
        let result = await callBackends(flight, streaming: streaming, request: request)
        if case .success(let entry, _, _) = result {
            limits.settle(admission, request: request, entry: entry)
        } else {
            limits.release(admission)
        }
        guard case .success(let entry, _, let backend) = result, request.storable else { return result }
        guard store(entry, now: Clock.wallNow()) else { return result }
        indexSemantic(entry, request: request)
        return .success(entry, stored: true, backend: backend)
    }

    /// Stores an answer in memory, and on disk in the background; false when it is too large
    /// to store. Memory may refuse it (admission); the disk tier still keeps it.
    @discardableResult
    func store(_ entry: CachedResponse, now: Double) -> Bool {
        guard let cache, entry.byteCount <= maxEntryBytes else { return false }
        _ = cache.storeInMemory(entry, now: now)
        metrics.cacheStores.increment()
        let pool = threadPool
        diskWrites.run {
            do {
                try await pool.runIfActive { try cache.storeOnDisk(entry, now: now) }
            } catch {
                self.logger.warning("disk tier write failed", metadata: ["tollgate.error": "\(error)"])
            }
        }
        return true
    }

    enum AttemptOutcome {
        /// A final answer (success, or a failure after the stream had started).
        case done(FlightResult)
        /// Failed before anything reached clients: retry, fall back, or give up with this.
        case failed(BackendFailure, FlightResult)
    }

    private func callBackends(_ flight: Flight?, streaming: Bool, request: InferenceRequest) async -> FlightResult {
        let route = request.route
        let table = policies.table
        var rng = FastRandom()
        let plan = RoutePlanner.plan(route: route, table: table, affinityHash: request.affinityHash, using: &rng)
        let routeDeadline = NIODeadline.now() + .milliseconds(Int64(route.timeoutSeconds * 1000))
        var last: FlightResult = .failed(
            .unavailable("No backend is available for route '\(route.name)'.", code: "no_backend_available"),
            backend: "-"
        )

        var unconfigured: [String] = []
        for (index, attempt) in plan.enumerated() {
            let backend = attempt.backend
            let isLast = index == plan.count - 1
            // An unconfigured backend or an open circuit is skipped whatever `fallback_on` says.
            if let reason = backend.unconfiguredReason {
                // When nothing on the route is configured, the answer names every variable to set.
                unconfigured.append(reason)
                let message = unconfigured.count == 1
                    ? reason : "No backend is configured for route '\(route.name)': " + unconfigured.joined(separator: "; or ")
                last = .failed(.unavailable(message, code: "upstream_not_configured"), backend: backend.name)
                continue
            }
            let breakerKey = attempt.replica
            guard breakers.allow(backend: backend.name, replica: breakerKey, now: Clock.monotonicNow()) else {
                last = .failed(
                    .unavailable("Backend '\(backend.name)' is unavailable (circuit open).", code: "circuit_open"),
                    backend: backend.name
                )
                continue
            }

            var retry = 0
            var lastFailure = BackendFailure.other
            while true {
                if Task.isCancelled {
                    return .failed(.unavailable("The request was cancelled.", code: "cancelled"), backend: backend.name)
                }
                switch await attemptOnce(
                    attempt,
                    flight: flight,
                    streaming: streaming,
                    request: request,
                    routeDeadline: routeDeadline
                ) {
                case .done(let result):
                    var success = false
                    var saysNothing = Task.isCancelled  // the client left: nothing learned about the backend
                    switch result {
                    case .success: success = true
                    // A request the backend refused as invalid (a local engine's 400) is the client's fault.
                    case .failed(let error, _): saysNothing = saysNothing || error.status.code < 500
                    case .upstreamError: break
                    }
                    if !saysNothing {
                        breakers.record(backend: backend.name, replica: breakerKey, success: success, now: Clock.monotonicNow())
                    }
                    return result
                case .failed(let failure, let result):
                    last = result
                    lastFailure = failure
                    // A call cancelled because its clients left says nothing about the backend.
                    if Task.isCancelled { return result }
                    // A local engine's 503 (queue full, model not loaded) is load shedding or configuration,
                    // which opening a circuit would not help.
                    if failure.countsAgainstBreaker, backend.type != .gguf {
                        breakers.record(backend: backend.name, replica: breakerKey, success: false, now: Clock.monotonicNow())
                    }
                    metrics.recordUpstreamError(backend: backend.name, kind: failure.metricLabel)
                }
                guard retry < route.retry.attempts, route.retry.retryOn.contains(lastFailure),
                    NIODeadline.now() < routeDeadline
                else { break }
                retry += 1
                let delay = route.retry.delay(forRetry: retry, using: &rng)
                try? await Task.sleep(nanoseconds: UInt64(max(0, delay) * 1e9))
            }
            if isLast || !route.fallbackOn.contains(lastFailure) { return last }
        }
        return last
    }

    private func attemptOnce(
        _ attempt: PlannedAttempt,
        flight: Flight?,
        streaming wantsStream: Bool,
        request: InferenceRequest,
        routeDeadline: NIODeadline
    ) async -> AttemptOutcome {
        let backend = attempt.backend
        if backend.type == .gguf {
            let routeLeft = Double((routeDeadline - NIODeadline.now()).nanoseconds) / 1e9
            let seconds = max(0, min(backend.timeoutSeconds, routeLeft))
            if request.kind == .embedding {
                return await attemptLocalEmbedding(backend, request: request, timeoutSeconds: seconds)
            }
            return await attemptLocal(backend, flight: flight, streaming: wantsStream, request: request, timeoutSeconds: seconds)
        }
        let deadline = min(routeDeadline, NIODeadline.now() + .milliseconds(Int64(backend.timeoutSeconds * 1000)))
        let streaming = wantsStream && request.kind.canStream
        let body = upstreamBody(for: request, backend: backend, streaming: streaming)
        let url = attempt.replica.hasSuffix("/")
            ? String(attempt.replica.dropLast()) + request.upstreamPath : attempt.replica + request.upstreamPath

        let exchange = UpstreamExchange(
            flight: streaming ? flight : nil,
            backend: backend.name,
            endpoint: request.kind.rawValue,
            maxBodyBytes: max(maxEntryBytes, 64 * 1024 * 1024)
        )
        let result: ExchangeResult
        do {
            result = try await upstream.exchange(
                url: url,
                body: body,
                apiKey: backend.apiKey,
                streaming: streaming,
                deadline: deadline,
                eventLoop: request.eventLoop ?? upstream.client.eventLoopGroup.any(),
                delegate: exchange
            )
        } catch {
            guard exchange.streamStarted else {
                return .failed(error.backendFailure, .failed(Self.gatewayError(for: error, backend: backend.name), backend: backend.name))
            }
            // Events already reached clients: no retry, no fallback, just an error.
            let message = error.kind == .timeout
                ? GatewayError.gatewayTimeout("Upstream '\(backend.name)' timed out mid-stream.")
                : GatewayError.badGateway("Upstream '\(backend.name)' failed mid-stream: \(error.kind.rawValue).")
            return .done(.failed(message, backend: backend.name))
        }

        switch result {
        case .collected(let status, let bytes):
            guard (200..<300).contains(status) else {
                return .failed(.status(status), .upstreamError(status: status, body: bytes, backend: backend.name))
            }
            guard case .object(let object)? = try? JSONParser.parse(bytes) else {
                return .failed(
                    .other,
                    .failed(.badGateway("Upstream '\(backend.name)' sent a response that is not JSON."), backend: backend.name)
                )
            }
            let entry = makeEntry(
                request: request, body: bytes, events: nil, usageEventIndex: nil, backend: backend,
                usage: .known(TokenUsage(object["usage"])))
            return .done(.success(entry, stored: false, backend: backend.name))
        case .streamed(let events, let usageEventIndex, let assembled, let complete):
            guard complete else {
                return .done(.failed(.badGateway("Upstream '\(backend.name)' ended the stream before it finished."), backend: backend.name))
            }
            guard let assembled else {
                return .done(
                    .failed(.badGateway("Upstream '\(backend.name)' sent a stream that could not be assembled."), backend: backend.name)
                )
            }
            let entry = makeEntry(
                request: request, body: assembled, events: events, usageEventIndex: usageEventIndex, backend: backend)
            return .done(.success(entry, stored: false, backend: backend.name))
        }
    }

    func makeEntry(
        request: InferenceRequest,
        body: [UInt8],
        events: [[UInt8]]?,
        usageEventIndex: Int?,
        backend: BackendPolicy,
        usage knownUsage: KnownUsage = .unknown
    ) -> CachedResponse {
        var events = events
        var usageEventIndex = usageEventIndex
        // The SSE form is needed to store the entry or to answer a client that streams.
        if events == nil, request.kind.canStream, request.storable || request.wantsStream,
            let synthesized = try? StreamSynthesizer.events(fromCompletion: body, endpoint: request.kind.rawValue)
        {
            events = synthesized.events
            usageEventIndex = synthesized.usageEventIndex
        }
        let now = Clock.wallNow()
        let metadata = EntryMetadata(
            key: request.cacheKey ?? Self.uniqueKey(),
            tenant: request.route.cache.scope == .shared ? "shared" : request.tenant,
            route: request.route.name,
            endpoint: request.kind.rawValue,
            model: request.match.model,
            createdAt: now,
            expiresAt: now + request.ttlSeconds,
            tags: request.route.cache.tags
        )
        // What the call cost: its usage at the serving backend's price (estimated from sizes when
        // the backend reported no usage).
        let usage: TokenUsage?
        switch knownUsage {
        case .known(let value): usage = value
        case .unknown: usage = TokenUsage.parse(body: body)
        }
        let price = Pricing.price(backend: backend, route: request.route, model: request.match.model)
        let cost: Double
        if let usage {
            cost = price.cost(usage)
        } else {
            let prompt = PromptSize(kind: request.kind, body: request.body, defaultMaxTokens: 0)
            cost = price.cost(prompt: prompt.estimate, completion: body.count / 4)
        }
        return CachedResponse(
            metadata: metadata, body: body, events: events, usageEventIndex: usageEventIndex, usage: usage, costUSD: cost)
    }

    /// A body's usage, when the caller already parsed it (nil inside: it has none).
    enum KnownUsage {
        case known(TokenUsage?)
        case unknown
    }

    /// The request body as the backend should see it: its model name, and usage asked for
    /// on streams so that every stored stream carries its token counts.
    private func upstreamBody(for request: InferenceRequest, backend: BackendPolicy, streaming: Bool) -> ByteBuffer {
        var object = request.body
        var changed = false
        let model = backend.upstreamModel ?? request.match.model
        if model != request.match.requestedModel {
            object["model"] = .string(model)
            changed = true
        }
        if request.kind.canStream {
            if streaming != request.wantsStream {
                object["stream"] = .bool(streaming)
                changed = true
            }
            if streaming {
                var options = object["stream_options"]?.objectValue ?? JSONObject()
                if options["include_usage"] != .bool(true) {
                    options["include_usage"] = .bool(true)
                    object["stream_options"] = .object(options)
                    changed = true
                }
            } else if object["stream_options"] != nil {
                object.removeValue(forKey: "stream_options")
                changed = true
            }
        }
        guard changed else { return request.rawBody }
        let bytes = JSONWriter.bytes(.object(object))
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        return buffer
    }

    static func gatewayError(for failure: UpstreamFailure, backend: String) -> GatewayError {
        switch failure.kind {
        case .timeout:
            return .gatewayTimeout("Upstream '\(backend)' did not answer in time.")
        case .connect:
            return GatewayError(status: .badGateway, message: "Upstream '\(backend)' is unreachable: \(failure.detail)", code: "upstream_unreachable")
        case .closed:
            return .badGateway("Upstream '\(backend)' closed the connection.")
        case .cancelled:
            return .unavailable("The request was cancelled.", code: "cancelled")
        case .other:
            return .badGateway("Upstream '\(backend)' failed: \(failure.detail)")
        }
    }
}

extension BackendFailure {
    /// Client-side statuses say nothing about the backend's health.
    var countsAgainstBreaker: Bool {
        switch self {
        case .status(let code): return code >= 500 || code == 429
        case .timeout, .connectError, .other: return true
        }
    }

    var metricLabel: String {
        switch self {
        case .status(let code): return "status_\(code)"
        case .timeout: return "timeout"
        case .connectError: return "connect_error"
        case .other: return "other"
        }
    }
}
