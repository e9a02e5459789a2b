import Cache
import Foundation
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
    let limits: LimitEnforcer
    /// Deterministic local completions by their tokens; nil when the cache is off or the index is.
    let continuations: ContinuationIndex<RecordedCompletion>?
    /// Embeddings of cached prompts for routes with a semantic cache; nil when the cache is off.
    let semantic: SemanticIndex?

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
        maxEntryBytes: Int,
        limits: LimitEnforcer,
        continuations: ContinuationIndex<RecordedCompletion>? = nil,
        semantic: SemanticIndex? = nil
    ) {
        self.continuations = continuations
        self.semantic = semantic
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
        self.limits = limits
    }

    /// Serves a request that the memory tier could not answer.
    func serveMiss(_ request: InferenceRequest, sink: some ResponseSink) async {
        var request = request
        var outcome = ResponseOutcome(route: request.route.name, model: request.match.model, tenant: request.tenant)
        outcome.keyID = request.caller.key?.id
        // The handler already looked in memory, unless hits are charged (they are answered here).
        if await answerFromStore(request, memoryToo: !limits.cacheHitsFree, sink: sink, outcome: &outcome) { return }
        if answerFromContinuation(&request, sink: sink, outcome: &outcome) { return }
        if await answerFromSemantic(&request, sink: sink, outcome: &outcome) { return }

        let admission: LimitEnforcer.Admission
        switch limits.admitMiss(request, table: policies.table, now: Clock.wallNow()) {
        case .success(let admitted):
            admission = admitted
        case .failure(let refusal):
            // A policy may send a request whose budget is spent to a cheaper route (one hop).
            guard refusal.isBudget, let rerouted = budgetFallback(request, refusal: refusal) else {
                sink.respond(error: refusal.error(report: request.rate), headers: request.limitHeaders, outcome: outcome)
                return
            }
            request = rerouted
            outcome.route = request.route.name
            // Nothing has looked under the fallback route's key yet.
            if await answerFromStore(request, memoryToo: true, sink: sink, outcome: &outcome) { return }
            if answerFromContinuation(&request, sink: sink, outcome: &outcome) { return }
            if await answerFromSemantic(&request, sink: sink, outcome: &outcome) { return }
            switch limits.admitMiss(request, table: policies.table, now: Clock.wallNow()) {
            case .success(let admitted):
                admission = admitted
            case .failure(let refusal):
                sink.respond(error: refusal.error(report: request.rate), headers: request.limitHeaders, outcome: outcome)
                return
            }
        }
        if !admission.tokenWindows.isEmpty {
            request.rate.tokens = limits.tokenReport(admission, now: Clock.wallNow())
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
            (flight, collapsed) = flights.join(key: key, streaming: request.wantsStream) { [request] flight in
                Task(executorPreference: Self.executor(for: request)) {
                    await self.run(flight, request: request, registered: true, admission: admission)
                }
            }
            // Joining a call already running costs nothing: the leader pays.
            if collapsed { limits.release(admission) }
        } else {
            if !request.wantsStream {
                // One client and nothing streamed: call the backend in this task (cancelled
                // with it) and answer directly, with no flight to subscribe to.
                let result = await call(request: request, streaming: false, relayTo: nil, admission: admission)
                var delivery = Delivery(request: request, fwd: fwd, collapsed: false, outcome: outcome)
                delivery.finish(result, pipeline: self, sink: sink)
                return
            }
            flight = Flight(key: request.cacheKey ?? Self.uniqueKey(), streaming: request.wantsStream)
            flight.attach(
                Task(executorPreference: Self.executor(for: request)) { [request] in
                    await self.run(flight, request: request, registered: false, admission: admission)
                })
        }
        if collapsed {
            metrics.cacheCollapsed.increment()
            outcome.cache = "collapsed"
        }
        await deliver(flight, request: request, fwd: fwd, collapsed: collapsed, sink: sink, outcome: outcome)
    }

    /// Answers from the disk tier (and from memory too, if asked); true when it did.
    private func answerFromStore(
        _ request: InferenceRequest, memoryToo: Bool, sink: some ResponseSink, outcome: inout ResponseOutcome
    ) async -> Bool {
        guard let key = request.cacheKey, let cache, request.directives.allowsLookup else { return false }
        let now = Clock.wallNow()
        var entry: CachedResponse?
        var detail: String?
        if memoryToo {
            entry = cache.getFromMemory(key, now: now)
        }
        if entry == nil, cache.mightBeOnDisk(key) {
            entry = try? await threadPool.runIfActive { try cache.getFromDisk(key, now: now) }
            detail = "disk"
        }
        guard let entry, request.directives.accepts(entry, now: now) else { return false }
        respondFromCache(
            entry, request: request, detail: detail, ttl: entry.metadata.ttl(now: now), age: entry.metadata.age(now: now),
            sink: sink, outcome: &outcome)
        return true
    }

    /// Answers with a stored (or derived) entry as a hit: charged or recorded as saved, counted,
    /// and sent in the client's mode with `Cache-Status` and `Age`.
    func respondFromCache(
        _ entry: CachedResponse, request: InferenceRequest, detail: String?, ttl: Double, age: Double,
        extraHeaders: [(String, String)] = [], sink: some ResponseSink, outcome: inout ResponseOutcome
    ) {
        let saved = limits.savedCost(entry, table: policies.table)
        var cost = 0.0
        if !limits.cacheHitsFree {
            if let refusal = limits.chargeHit(request, entry: entry, cost: saved) {
                sink.respond(error: refusal.error(report: request.rate), headers: request.limitHeaders, outcome: outcome)
                return
            }
            cost = saved
        } else {
            limits.recordSaving(saved, caller: request.caller, route: request.route.name)
        }
        metrics.cacheHits.increment()
        if detail == "prefix" { metrics.cachePrefixHits.increment() }
        outcome.cache = "hit"
        recordAlias(request)
        var headers = request.rate.headers + request.limitHeaders
        headers.append(("x-tollgate-cost-usd", USD.format(cost)))
        headers.append(("x-tollgate-saved-usd", USD.format(limits.cacheHitsFree ? saved : 0)))
        headers += extraHeaders
        sendStored(
            entry,
            request: request,
            cacheStatus: CacheStatus.hit(ttl: ttl, keyHex: entry.keyHex, detail: detail),
            age: age,
            extraHeaders: headers,
            sink: sink,
            outcome: outcome
        )
    }

    /// The request moved to its route's `budget_fallback`, or nil when there is none to use.
    private func budgetFallback(_ request: InferenceRequest, refusal: LimitRefusal) -> InferenceRequest? {
        guard let name = request.route.budgetFallback, name != request.route.name,
            let route = policies.table.route(named: name), route.kinds.contains(request.kind)
        else { return nil }
        var moved = request
        moved.match.route = route
        moved.rawKey = nil  // the raw body must keep meaning the primary route's answer
        moved.cacheKey = nil
        if cacheEnabled, route.cache.enabled, !request.directives.noStore {
            let canonical = RequestCanonicalizer.canonicalBytes(.object(request.body), endpoint: request.kind.rawValue)
            moved.cacheKey = RequestCanonicalizer.cacheKey(
                scope: route.cache.scope == .shared ? "shared" : request.tenant,
                route: route.name,
                endpoint: request.kind.rawValue,
                canonical: canonical
            )
        }
        moved.ttlSeconds = route.cache.ttlSeconds ?? defaultTTLSeconds
        var budget = "-"
        if case .budget(_, let refused, _) = refusal { budget = refused.id.name }
        moved.limitHeaders.append((BudgetFallbackHeader.name, "route=\(route.name); budget=\(budget)"))
        return moved
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

    /// The backend call runs on the client's loop, where its upstream exchange is pinned too.
    static func executor(for request: InferenceRequest) -> LoopTaskExecutor? {
        request.eventLoop.map(LoopTaskExecutor.init(loop:))
    }

    static func uniqueKey() -> CacheKey {
        var generator = FastRandom()
        return CacheKey(words: (generator.next(), generator.next(), generator.next(), generator.next()))
    }
}
