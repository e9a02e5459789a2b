import Cache
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Router

/// The miss path: disk tier, coalescing, the backend call with retries and fallbacks, and
/// storing the answer. The hit path lives in the channel handler and never comes here.
final class InferencePipeline: Sendable {
    let cache: ResponseCache?
    let aliases: RawKeyAliases
    let flights = FlightTable()
    let diskWrites = DiskWriteTracker()
    let policies: PolicyStore
    let upstream: UpstreamClient
    let breakers: CircuitBreakerRegistry
    let metrics: GatewayMetrics
    let threadPool: NIOThreadPool
    let logger: Logger
    let defaultTTLSeconds: Double
    let maxEntryBytes: Int

    var cacheEnabled: Bool { cache != nil }

    init(
        cache: ResponseCache?,
        aliases: RawKeyAliases,
        policies: PolicyStore,
        upstream: UpstreamClient,
        breakers: CircuitBreakerRegistry,
        metrics: GatewayMetrics,
        threadPool: NIOThreadPool,
        logger: Logger,
        defaultTTLSeconds: Double,
        maxEntryBytes: Int
    ) {
        self.cache = cache
        self.aliases = aliases
        self.policies = policies
        self.upstream = upstream
        self.breakers = breakers
        self.metrics = metrics
        self.threadPool = threadPool
        self.logger = logger
        self.defaultTTLSeconds = defaultTTLSeconds
        self.maxEntryBytes = maxEntryBytes
    }

    /// Serves a request that the memory tier could not answer.
    func serveMiss(_ request: InferenceRequest, sink: some ResponseSink) async {
        var outcome = ResponseOutcome(route: request.route.name, model: request.match.model, tenant: request.tenant)

        if let key = request.cacheKey, let cache, request.directives.allowsLookup, cache.mightBeOnDisk(key) {
            let now = Clock.wallNow()
            let entry = try? await threadPool.runIfActive { try cache.getFromDisk(key, now: now) }
            if let entry, request.directives.accepts(entry, now: now) {
                metrics.cacheHits.increment()
                outcome.cache = "hit"
                recordAlias(request)
                sendStored(
                    entry,
                    request: request,
                    cacheStatus: CacheStatus.hit(ttl: entry.metadata.ttl(now: now), keyHex: entry.keyHex, detail: "disk"),
                    age: entry.metadata.age(now: now),
                    sink: sink,
                    outcome: outcome
                )
                return
            }
        }

        let fwd: String
        if request.directives.noStore, cacheEnabled, request.route.cache.enabled {
            fwd = "request"
        } else if request.cacheKey == nil {
            fwd = "bypass"
        } else if request.directives.noCache {
            fwd = "request"
        } else {
            fwd = "miss"
            metrics.cacheMisses.increment()
        }
        outcome.cache = fwd

        let flight: Flight
        var collapsed = false
        if let key = request.cacheKey, !request.directives.noStore {
            (flight, collapsed) = flights.join(key: key, streaming: request.wantsStream) { flight in
                Task { await self.run(flight, request: request, registered: true) }
            }
        } else {
            if !request.wantsStream {
                // One client and nothing streamed: call the backend in this task (cancelled
                // with it) and answer directly, with no flight to subscribe to.
                let result = await call(request: request, streaming: false, relayTo: nil)
                var delivery = Delivery(request: request, fwd: fwd, collapsed: false, outcome: outcome)
                delivery.finish(result, pipeline: self, sink: sink)
                return
            }
            flight = Flight(key: request.cacheKey ?? Self.uniqueKey(), streaming: request.wantsStream)
            flight.attach(Task { await self.run(flight, request: request, registered: false) })
        }
        if collapsed {
            metrics.cacheCollapsed.increment()
            outcome.cache = "collapsed"
        }
        await deliver(flight, request: request, fwd: fwd, collapsed: collapsed, sink: sink, outcome: outcome)
    }

    /// Writes one client's view of a flight.
    private func deliver(
        _ flight: Flight,
        request: InferenceRequest,
        fwd: String,
        collapsed: Bool,
        sink: some ResponseSink,
        outcome: ResponseOutcome
    ) async {
        var delivery = Delivery(request: request, fwd: fwd, collapsed: collapsed, outcome: outcome)
        for await event in flight.subscribe() {
            if delivery.handle(event, pipeline: self, sink: sink) { return }
        }
        // The stream ended without a result: this client went away (its task was cancelled).
    }

    /// Sends a stored (or just assembled) response in the client's mode.
    func sendStored(
        _ entry: CachedResponse,
        request: InferenceRequest,
        cacheStatus: String? = nil,
        age: Double? = nil,
        extraHeaders: [(String, String)] = [],
        sink: some ResponseSink,
        outcome: ResponseOutcome
    ) {
        let (body, contentType) = ResponseRenderer.body(
            for: entry,
            stream: request.wantsStream,
            includeUsage: request.includeUsage,
            allocator: sink.allocator
        )
        var extra = extraHeaders
        if let cacheStatus {
            extra.append(("cache-status", cacheStatus))
            extra.append(("x-tollgate-cache-key", entry.keyHex))
        }
        if let age { extra.append(("age", String(Int(age.rounded(.down))))) }
        let headers = ResponseRenderer.headers(contentType: contentType, length: body.readableBytes, extra: extra)
        sink.respond(status: HTTPResponseStatus(statusCode: entry.status), headers: headers, body: body, outcome: outcome)
    }

    func recordAlias(_ request: InferenceRequest) {
        guard let raw = request.rawKey, let key = request.cacheKey else { return }
        aliases.record(raw, RawAlias(canonical: key, wantsStream: request.wantsStream, includeUsage: request.includeUsage))
    }

    /// Upstream error bodies pass through when they are OpenAI-shaped; anything else is wrapped.
    static func errorBody(status: Int, body: [UInt8], allocator: ByteBufferAllocator) -> (ByteBuffer, Bool) {
        if case .object(let object)? = try? JSONParser.parse(body), object["error"] != nil {
            var buffer = allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            return (buffer, true)
        }
        let text = String(decoding: body.prefix(512), as: UTF8.self)
        let error = GatewayError(
            status: HTTPResponseStatus(statusCode: status),
            message: "Upstream answered \(status): \(text)",
            code: "upstream_error"
        )
        var buffer = allocator.buffer(capacity: 128)
        buffer.writeBytes(error.body)
        return (buffer, false)
    }

    static func uniqueKey() -> CacheKey {
        var generator = SystemRandomNumberGenerator()
        return CacheKey(words: (generator.next(), generator.next(), generator.next(), generator.next()))
    }
}
