import Cache
import NIOCore
import NIOHTTP1
import Router

/// One per data-plane connection. Collects a request, answers cache hits right here on the
/// event loop, and hands misses to the async pipeline through a `ChannelResponseSink`.
///
/// It also does what NIO's pipelining handler would: requests that arrive while an async
/// response is being written wait in a queue, and the socket is not read meanwhile. Doing it
/// here lets a hit bypass the response encoder and go out as one pre-rendered buffer.
final class GatewayHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let shared: GatewayContext
    private var state = ConnectionState()
    private var context: ChannelHandlerContext?
    private(set) var body = ByteBuffer()
    private var timer = ConnectionTimer()
    private var missTask: Task<Void, Never>?
    var current = RequestRecord()
    /// Keep-alive clients send the same key on every request: check it once per connection
    /// (again after any key was created or revoked).
    private var lastAuthorization: String?
    private var lastKeyGeneration: UInt64 = 0
    private var lastCaller: Result<Caller, GatewayError> = .success(.anonymous)
    private var hasCaller = false
    private var metricsMemo = GatewayMetrics.Memo()
    /// Where raw bytes go: the context of the response encoder, so they skip it.
    private var rawContext: ChannelHandlerContext?
    /// Pipelined request parts that arrived during an async response.
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    private var readHeld = false
    /// Where this connection's async work runs: its own event loop.
    private var executor: LoopTaskExecutor?

    init(shared: GatewayContext) {
        self.shared = shared
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        executor = LoopTaskExecutor(loop: context.eventLoop)
        rawContext = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
        timer.checkInterval = min(shared.idleTimeout, shared.requestTimeout)
        arm(.idle, after: shared.idleTimeout, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
        self.context = nil
        self.rawContext = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer.cancel()
        missTask?.cancel()
        missTask = nil
        if state.phase != .idle, state.phase != .closed {
            // The client went away first: 499, as nginx logs it.
            finishRequest(status: 499, bytes: current.bytesOut, outcome: current.outcome)
        }
        state.phase = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state.phase {
        case .responding, .streaming:
            queued.append(part)  // pipelined behind a response still being written
        case .discarding, .closed:
            break
        case .idle, .receiving:
            handle(part, context: context)
        }
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            receiveHead(head, context: context)
        case .body(var chunk):
            guard state.phase == .receiving else { return }
            if body.readableBytes + chunk.readableBytes > shared.maxBodyBytes {
                rejectOversizedBody(context: context)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard state.phase == .receiving, let head = state.head else { return }
            timer.disarm()
            state.phase = .responding
            dispatch(head: head, context: context)
        }
    }

    /// Holds socket reads while an async response is in progress (backpressure on clients
    /// that pipeline); released when it ends.
    func read(context: ChannelHandlerContext) {
        if state.phase == .responding || state.phase == .streaming {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// After a response: serve what was pipelined meanwhile, then read again.
    private func resumeAfterResponse(context: ChannelHandlerContext) {
        while state.phase == .idle || state.phase == .receiving, let part = queued.popFirst() {
            handle(part, context: context)
        }
        if readHeld, state.phase == .idle || state.phase == .receiving {
            readHeld = false
            context.read()
        }
    }

    /// The HTTP parser gave up: answer 431 or 400 as OpenAI JSON if no response has started,
    /// then close (the decoder closes the connection after this anyway).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.close(promise: nil)
            return
        }
        if state.phase == .idle || state.phase == .receiving {
            let gatewayError: GatewayError
            switch parserError {
            case .headerOverflow:
                gatewayError = .headersTooLarge
            case .unexpectedContentLength, .invalidContentLength, .invalidChunkSize:
                gatewayError = .malformedRequest("conflicting or invalid Content-Length / Transfer-Encoding")
            default:
                gatewayError = .malformedRequest("\(parserError)")
            }
            if state.phase == .idle {
                current = RequestRecord(requestID: shared.nextRequestID(), method: "-", path: "-", started: .now())
                shared.requestStarted()
            }
            state.phase = .responding
            state.keepAlive = false
            respond(error: gatewayError)
        }
        state.phase = .closed
        context.close(promise: nil)
    }

    private func receiveHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        state.begin(head: head)
        state.keepAlive = head.isKeepAlive && !shared.isDraining
        current = RequestRecord(
            requestID: shared.nextRequestID(),
            method: head.method.rawValue,
            path: head.uri.utf8.contains(UInt8(ascii: "?"))
                ? String(head.uri.prefix(while: { $0 != "?" })) : head.uri,
            started: NIODeadline.now()
        )
        shared.requestStarted()
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > shared.maxBodyBytes {
            rejectOversizedBody(context: context)
            return
        }
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            // curl asks before sending bodies over 1 KiB; without this it waits a second.
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                promise: nil
            )
        }
        body = context.channel.allocator.buffer(capacity: 0)
        arm(.request, after: shared.requestTimeout, context: context)
    }

    private func rejectOversizedBody(context: ChannelHandlerContext) {
        timer.disarm()
        state.phase = .responding
        state.keepAlive = false
        respond(error: .payloadTooLarge(limit: shared.maxBodyBytes))
        state.phase = .discarding
    }

    private func requestTimedOut() {
        guard state.phase == .receiving else { return }
        state.phase = .responding
        state.keepAlive = false
        respond(error: .requestTimeout)
    }

    // MARK: Routing

    private func dispatch(head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = current.path
        if let kind = EndpointKind(path: path) {
            guard head.method == .POST else {
                return respond(error: .methodNotAllowed(head.method, path: path, allowed: "POST"))
            }
            return handleInference(kind: kind, path: path, head: head, context: context)
        }
        switch path {
        case "/healthz":
            guard head.method == .GET || head.method == .HEAD else {
                return respond(error: .methodNotAllowed(head.method, path: path, allowed: "GET"))
            }
            respondJSON(#"{"status":"ok"}"#)
        case "/readyz", "/v2/health/ready", "/v2/health/live":
            guard head.method == .GET || head.method == .HEAD else {
                return respond(error: .methodNotAllowed(head.method, path: path, allowed: "GET"))
            }
            if shared.isDraining {
                respond(error: .unavailable("The gateway is shutting down.", code: "draining"))
            } else {
                respondJSON(#"{"status":"ready"}"#)
            }
        case "/v1/models":
            guard head.method == .GET else {
                return respond(error: .methodNotAllowed(head.method, path: path, allowed: "GET"))
            }
            if case .failure(let error) = caller(for: head) { return respond(error: error) }
            startAsync(context: context) { pipeline, sink in await pipeline.listModels(sink: sink) }
        case "/v1/predict":
            guard head.method == .POST else {
                return respond(error: .methodNotAllowed(head.method, path: path, allowed: "POST"))
            }
            handlePredict(pathModel: nil, version: nil, head: head, context: context)
        case "/v1/feedback":
            guard head.method == .POST else {
                return respond(error: .methodNotAllowed(head.method, path: path, allowed: "POST"))
            }
            if case .failure(let error) = caller(for: head) { return respond(error: error) }
            do {
                respondJSON(bytes: try shared.tabular.feedback(body: body))
            } catch {
                respond(error: error)
            }
        default:
            if let v2 = V2Path(path) {
                handleV2(v2, head: head, context: context)
            } else {
                respond(error: .notFound("Unknown path \(path).", code: "unknown_url"))
            }
        }
    }

    // MARK: Inference: the hit path stays here

    private func handleInference(kind: EndpointKind, path: String, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let caller: Caller
        switch self.caller(for: head) {
        case .success(let known): caller = known
        case .failure(let error): return respond(error: error)
        }
        let tenant = caller.tenant
        current.outcome.tenant = tenant
        current.outcome.keyID = caller.key?.id
        let limits = shared.pipeline.limits
        let directives = head.headers.first(name: "cache-control").map(CacheDirectives.init(header:)) ?? .none
        // Hits are answered here only when they are free; a key limited to some models must
        // have the request's model checked, which needs the body parsed.
        let hitsHere = limits.cacheHitsFree
        var rawKey: CacheKey?
        if let cache = shared.cache, !directives.noStore {
            let key = body.withUnsafeReadableBytes { RequestCanonicalizer.rawKey(scope: tenant, path: path, body: $0) }
            rawKey = key
            if hitsHere, caller.key?.models.isEmpty ?? true, directives.allowsLookup, let alias = shared.aliases.lookup(key) {
                let now = Clock.wallNow()
                if let entry = cache.getFromMemory(alias.canonical, now: now), directives.accepts(entry, now: now),
                    let route = shared.pipeline.policies.table.route(named: entry.metadata.route)
                {
                    current.outcome.route = entry.metadata.route
                    current.outcome.model = entry.metadata.model
                    switch limits.admitRequest(caller, route: route, now: now) {
                    case .failure(let error): return respond(error: error)
                    case .success(let report):
                        return serveHit(
                            entry, stream: alias.wantsStream, includeUsage: alias.includeUsage, now: now, caller: caller,
                            report: report)
                    }
                }
            }
        }

        var request: InferenceRequest
        do {
            request = try shared.pipeline.prepare(
                kind: kind,
                path: path,
                head: head,
                body: body,
                caller: caller,
                directives: directives,
                rawKey: rawKey,
                requestID: current.requestID
            )
        } catch {
            return respond(error: error)
        }
        current.outcome.route = request.route.name
        current.outcome.model = request.match.model
        switch limits.admitRequest(caller, route: request.route, now: Clock.wallNow()) {
        case .failure(let error): return respond(error: error)
        case .success(let report): request.rate = report
        }

        if hitsHere, let key = request.cacheKey, let cache = shared.cache, directives.allowsLookup {
            let now = Clock.wallNow()
            if let entry = cache.getFromMemory(key, now: now), directives.accepts(entry, now: now) {
                if let raw = request.rawKey {
                    shared.aliases.record(
                        raw,
                        RawAlias(canonical: key, wantsStream: request.wantsStream, includeUsage: request.includeUsage)
                    )
                }
                return serveHit(
                    entry, stream: request.wantsStream, includeUsage: request.includeUsage, now: now, caller: caller,
                    report: request.rate)
            }
        }
        request.eventLoop = context.eventLoop
        startAsync(context: context) { [request] pipeline, sink in await pipeline.serveMiss(request, sink: sink) }
    }

    /// Who sent the request: its virtual key checked (or, in open mode, its bearer hashed)
    /// once per connection while neither the header nor the key set changes.
    func caller(for head: HTTPRequestHead) -> Result<Caller, GatewayError> {
        let authorization = head.headers.first(name: "authorization")
        let generation = shared.pipeline.limits.keyGeneration
        if !hasCaller || authorization != lastAuthorization || generation != lastKeyGeneration {
            hasCaller = true
            lastAuthorization = authorization
            lastKeyGeneration = generation
            lastCaller = shared.pipeline.limits.authenticate(authorization: authorization)
        }
        return lastCaller
    }

    private func serveHit(
        _ entry: CachedResponse, stream: Bool, includeUsage: Bool, now: Double, caller: Caller, report: RateReport
    ) {
        guard let context else { return }
        shared.metrics.cacheHits.increment()
        current.outcome.cache = "hit"
        current.outcome.backend = "cache"
        let metadata = entry.metadata
        let allocator = context.channel.allocator
        let status = HTTPResponseStatus(statusCode: entry.status)
        var response: RawResponse
        var bodyBytes = 0
        var rendered: ByteBuffer?
        if stream, entry.events != nil {
            let (buffer, _) = ResponseRenderer.body(for: entry, stream: true, includeUsage: includeUsage, allocator: allocator)
            bodyBytes = buffer.readableBytes
            response = RawResponse(allocator: allocator, status: status, bodyBytes: bodyBytes)
            response.header("content-type", "text/event-stream")
            response.header("cache-control", "no-cache")
            rendered = buffer
        } else {
            bodyBytes = entry.body.count
            response = RawResponse(allocator: allocator, status: status, bodyBytes: bodyBytes)
            response.header("content-type", entry.contentType)
        }
        response.header("content-length", bodyBytes)
        response.cacheStatusHit(ttl: Int(metadata.ttl(now: now)), keyHex: entry.keyHex)
        response.header("age", Int(metadata.age(now: now)))
        response.header("x-tollgate-cache-key", entry.keyHex)
        if !report.isEmpty {
            for (name, value) in report.headers { response.header(named: name, value) }
        }
        let limits = shared.pipeline.limits
        let saved = limits.savedCost(entry, table: shared.pipeline.policies.table)
        limits.recordSaving(saved, caller: caller, route: entry.metadata.route)
        response.header("x-tollgate-cost-usd", USD.zero)
        response.header("x-tollgate-saved-usd", USD.format(saved))
        response.header("x-request-id", current.requestID)
        if !state.keepAlive { response.header("connection", "close") }
        let bytes: ByteBuffer
        if var rendered {
            bytes = response.finish(body: &rendered)
        } else {
            bytes = response.finish(body: entry.body)
        }
        writeComplete(bytes, status: status, bodyBytes: bodyBytes, outcome: current.outcome)
    }

    private func startAsync(
        context: ChannelHandlerContext,
        _ work: @escaping @Sendable (InferencePipeline, ChannelResponseSink) async -> Void
    ) {
        let sink = makeSink(context: context)
        let pipeline = shared.pipeline
        missTask = Task(executorPreference: executor) { await work(pipeline, sink) }
    }

    /// A sink for the response now being made, usable from any thread; writes for an earlier
    /// request (the client moved on or left) are dropped.
    func makeSink(context: ChannelHandlerContext) -> ChannelResponseSink {
        state.generation &+= 1
        return ChannelResponseSink(
            handler: NIOLoopBound(self, eventLoop: context.eventLoop),
            eventLoop: context.eventLoop,
            allocator: context.channel.allocator,
            generation: state.generation
        )
    }

    // MARK: Writing (called on the event loop, directly or through the sink)

    func isCurrent(_ generation: UInt64) -> Bool { state.generation == generation }

    func writeResponse(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, outcome: ResponseOutcome) {
        guard let context, state.phase == .responding else { return }
        var body = body
        let bodyBytes = body.readableBytes
        var response = RawResponse(allocator: context.channel.allocator, status: status, bodyBytes: bodyBytes)
        response.headers(headers)
        response.header("x-request-id", current.requestID)
        if !state.keepAlive { response.header("connection", "close") }
        if state.head?.method == .HEAD { body.clear() }
        writeComplete(response.finish(body: &body), status: status, bodyBytes: bodyBytes, outcome: outcome)
    }

    /// Writes a whole response (head and body in one buffer, past the encoder) and moves the
    /// connection on: the next pipelined request, or close.
    private func writeComplete(_ bytes: ByteBuffer, status: HTTPResponseStatus, bodyBytes: Int, outcome: ResponseOutcome) {
        guard let context, let rawContext else { return }
        missTask = nil
        finishRequest(status: Int(status.code), bytes: bodyBytes, outcome: outcome)
        let keepAlive = state.keepAlive && !shared.isDraining
        state.finish()
        if keepAlive, state.phase == .idle {
            rawContext.writeAndFlush(NIOAny(bytes), promise: nil)
            arm(.idle, after: shared.idleTimeout, context: context)
            resumeAfterResponse(context: context)
        } else {
            state.phase = .closed
            let channel = context.channel
            rawContext.writeAndFlush(NIOAny(bytes)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func writeStreamHead(status: HTTPResponseStatus, headers: HTTPHeaders) {
        guard let context, state.phase == .responding, let head = state.head else { return }
        var headers = headers
        headers.add(name: "x-request-id", value: current.requestID)
        if !state.keepAlive { headers.add(name: "connection", value: "close") }
        state.phase = .streaming
        context.writeAndFlush(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil
        )
    }

    func writeStreamChunk(_ chunk: ByteBuffer) {
        guard let context, state.phase == .streaming else { return }
        current.bytesOut += chunk.readableBytes
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
    }

    func endStream(outcome: ResponseOutcome) {
        guard let context, state.phase == .streaming else { return }
        finishRequest(status: 200, bytes: current.bytesOut, outcome: outcome)
        endResponse(context: context)
    }

    func abortStream(outcome: ResponseOutcome) {
        guard let context, state.phase == .streaming else { return }
        finishRequest(status: 502, bytes: current.bytesOut, outcome: outcome)
        state.phase = .closed
        context.flush()
        context.close(promise: nil)
    }

    private func endResponse(context: ChannelHandlerContext) {
        missTask = nil
        let keepAlive = state.keepAlive && !shared.isDraining
        state.finish()
        if keepAlive, state.phase == .idle {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            arm(.idle, after: shared.idleTimeout, context: context)
            resumeAfterResponse(context: context)
        } else {
            state.phase = .closed
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func respond(error: GatewayError) {
        let bodyBytes = error.body
        var buffer = ByteBuffer()
        buffer.writeBytes(bodyBytes)
        let headers = ResponseRenderer.headers(contentType: "application/json", length: bodyBytes.count, extra: error.headers)
        writeResponse(status: error.status, headers: headers, body: buffer, outcome: current.outcome)
    }

    func respondJSON(_ text: String) {
        respondJSON(bytes: Array(text.utf8))
    }

    func respondJSON(bytes: [UInt8]) {
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        let headers = ResponseRenderer.headers(contentType: "application/json", length: buffer.readableBytes, extra: [])
        writeResponse(status: .ok, headers: headers, body: buffer, outcome: current.outcome)
    }

    private func finishRequest(status: Int, bytes: Int, outcome: ResponseOutcome) {
        guard !current.finished else { return }
        current.finished = true
        shared.requestFinished()
        let seconds = Double((NIODeadline.now() - current.started).nanoseconds) / 1e9
        shared.metrics.recordRequest(
            route: outcome.route,
            status: status,
            cache: outcome.cache,
            seconds: seconds,
            memo: &metricsMemo
        )
        shared.accessLog.log(
            AccessLog.Record(
                requestID: current.requestID,
                method: current.method,
                path: current.path,
                status: status,
                route: outcome.route,
                model: outcome.model,
                tenant: outcome.tenant,
                cache: outcome.cache,
                backend: outcome.backend,
                bytesOut: bytes,
                durationSeconds: seconds,
                upstreamSeconds: outcome.upstreamSeconds,
                costUSD: outcome.costUSD,
                keyID: outcome.keyID
            )
        )
    }

    // MARK: Timers

    private func arm(_ purpose: ConnectionTimer.Purpose, after timeout: TimeAmount, context: ChannelHandlerContext) {
        if timer.arm(purpose, deadline: .now() + timeout) { scheduleTimer(context: context) }
    }

    private func scheduleTimer(context: ChannelHandlerContext) {
        let at = timer.nextCheck(now: .now())
        timer.scheduled = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [weak self] in
            self?.timerFired()
        }
        timer.scheduledAt = at
    }

    private func timerFired() {
        timer.scheduled = nil
        guard let context, let purpose = timer.purpose else { return }
        guard NIODeadline.now() >= timer.deadline else { return scheduleTimer(context: context) }
        timer.disarm()
        switch purpose {
        case .idle:
            if state.phase == .idle { context.close(promise: nil) }
        case .request:
            requestTimedOut()
        }
    }
}

@available(*, unavailable)
extension GatewayHandler: Sendable {}
