import Cache
import Foundation
import Logging
import NIOCore
import NIOPosix
import Router

/// `tollgate bench limits`: what keys, rate limits and budgets cost a request, measured in
/// process. Each iteration does what the gateway does for one miss: check the key, admit its
/// requests-per-minute, admit its tokens and reserve its budgets, then settle (the ledger row
/// committed, budgets and windows booked). The reference runs the same calls against an
/// enforcer with no keys and no limits, so the difference is the limits' own work.
public enum LimitsBenchmark {
    public struct Figures: Sendable {
        public var p50Microseconds: Double
        public var p99Microseconds: Double
        public var meanMicroseconds: Double
    }

    public struct Result: Sendable {
        public var iterations: Int
        public var reference: Figures
        /// Every check and the books, but no ledger: what admission and settling cost alone.
        public var checksOnly: Figures
        public var limited: Figures
    }

    public static func run(iterations: Int, directory: String) async throws -> Result {
        let logger = Logger(label: "bench")
        let big = 1_000_000_000
        let keys = try VirtualKeyStore(path: directory + "/keys.sqlite")
        let ledger = try SpendLedger(path: directory + "/spend.sqlite")
        let tenantLimits = UsageLimits(
            requestsPerMinute: big, tokensPerMinute: big, budgets: [BudgetLimit(usd: Double(big), period: .day)])
        let limited = LimitEnforcer(
            requireKeys: true, keys: keys, ledger: ledger, tenants: ["bench": tenantLimits], defaultMaxTokens: 4096,
            cacheHitsFree: true, metrics: LimitMetrics(), logger: logger)
        let checksOnly = LimitEnforcer(
            requireKeys: true, keys: keys, ledger: nil, tenants: ["bench": tenantLimits], defaultMaxTokens: 4096,
            cacheHitsFree: true, metrics: LimitMetrics(), logger: logger)
        let open = LimitEnforcer.unlimited(logger: logger)
        var generator = SystemRandomNumberGenerator()
        let (secret, _) = try keys.create(
            VirtualKey(
                id: "", tenant: "bench", models: [], requestsPerMinute: big, tokensPerMinute: big,
                budgets: [.init(limitUSD: Double(big), period: .week)], softThreshold: nil, createdAt: 0, revokedAt: nil),
            using: &generator)

        var plainRoute = RoutePolicy(name: "bench", backends: [.init(backend: "origin")])
        var pricedRoute = plainRoute
        pricedRoute.pricing = RoutePricing(base: TokenPrice(inputPer1M: 2.5, outputPer1M: 10))
        pricedRoute.limits = UsageLimits(
            requestsPerMinute: big, tokensPerMinute: big, budgets: [BudgetLimit(usd: Double(big), period: .month)])
        plainRoute.limits = UsageLimits()
        let table = RoutingTable.empty
        let json = #"{"model":"bench-model","messages":[{"role":"user","content":"What is the capital of France?"}],"temperature":0}"#
        let body = try JSONParser.parse(json).objectValue ?? JSONObject()
        let answer = #"{"usage":{"prompt_tokens":14,"completion_tokens":64,"total_tokens":78}}"#
        let entry = CachedResponse(
            metadata: EntryMetadata(
                key: InferencePipeline.uniqueKey(), tenant: "bench", route: "bench", endpoint: "chat",
                model: "bench-model", createdAt: 0, expiresAt: 1),
            body: Array(answer.utf8), usage: TokenUsage(promptTokens: 14, completionTokens: 64), costUSD: 0.000675)

        func once(_ enforcer: LimitEnforcer, authorization: String, route: RoutePolicy, index: Int) async -> Double {
            let started = DispatchTime.now().uptimeNanoseconds
            guard case .success(let caller) = enforcer.authenticate(authorization: authorization),
                case .success(let report) = enforcer.admitRequest(caller, route: route, now: Clock.wallNow())
            else { fatalError("the benchmark's limits refused a request") }
            var request = InferenceRequest(
                requestID: "req_\(index)", kind: .chat, upstreamPath: "/chat/completions", body: body,
                rawBody: ByteBuffer(), match: RouteMatch(route: route, requestedModel: "bench-model", model: "bench-model"),
                tenant: caller.tenant, caller: caller, wantsStream: false, includeUsage: false, directives: .none,
                cacheKey: nil, rawKey: nil, affinityHash: nil, ttlSeconds: 60)
            request.rate = report
            guard case .success(let admission) = enforcer.admitMiss(request, table: table, now: Clock.wallNow()) else {
                fatalError("the benchmark's budgets refused a request")
            }
            enforcer.settle(admission, request: request, entry: entry)
            return Double(DispatchTime.now().uptimeNanoseconds - started) / 1000
        }

        var reference: [Double] = []
        var checks: [Double] = []
        var measured: [Double] = []
        reference.reserveCapacity(iterations)
        checks.reserveCapacity(iterations)
        measured.reserveCapacity(iterations)
        // Interleaved, so drift in the machine's speed falls on both alike.
        for index in 0..<iterations {
            reference.append(await once(open, authorization: "Bearer bench-key", route: plainRoute, index: index))
            checks.append(await once(checksOnly, authorization: "Bearer \(secret)", route: pricedRoute, index: index))
            measured.append(await once(limited, authorization: "Bearer \(secret)", route: pricedRoute, index: index))
            if index % 2000 == 1999 { try? ledger.checkpoint() }
        }
        ledger.close()
        return Result(
            iterations: iterations, reference: figures(reference), checksOnly: figures(checks), limited: figures(measured))
    }

    static func figures(_ samples: [Double]) -> Figures {
        let sorted = samples.sorted()
        return Figures(
            p50Microseconds: sorted[sorted.count / 2], p99Microseconds: sorted[min(sorted.count - 1, sorted.count * 99 / 100)],
            meanMicroseconds: samples.reduce(0, +) / Double(max(1, samples.count)))
    }
}
