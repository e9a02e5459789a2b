import Cache
import Foundation
import Logging
import NIOCore
import NIOPosix
import Router
import Testing

@testable import Gateway

@Suite struct LimitEnforcerTests {
    struct Setup {
        let limits: LimitEnforcer
        let store: VirtualKeyStore
        let ledger: SpendLedger
    }

    static func setup(requireKeys: Bool = true, tenants: [String: UsageLimits] = [:]) throws -> Setup {
        let store = try VirtualKeyStore(path: try SpendLedgerTests.temporaryPath())
        let ledger = try SpendLedger(path: try SpendLedgerTests.temporaryPath())
        let limits = LimitEnforcer(
            requireKeys: requireKeys, keys: store, ledger: ledger, tenants: tenants, defaultMaxTokens: 100,
            cacheHitsFree: true, metrics: LimitMetrics(), logger: Logger(label: "test"))
        return Setup(limits: limits, store: store, ledger: ledger)
    }

    static func key(
        _ store: VirtualKeyStore, models: [String] = [], rpm: Int? = nil, tpm: Int? = nil, budget: Double? = nil
    ) throws -> (String, VirtualKey) {
        var generator = SystemRandomNumberGenerator()
        let template = VirtualKey(
            id: "", tenant: "acme", models: models, requestsPerMinute: rpm, tokensPerMinute: tpm,
            budgets: budget.map { [.init(limitUSD: $0, period: .total)] } ?? [], softThreshold: nil, createdAt: 0,
            revokedAt: nil)
        return try store.create(template, using: &generator)
    }

    static func route(_ name: String = "chat", limits: UsageLimits = UsageLimits(), price: TokenPrice? = nil) -> RoutePolicy {
        var route = RoutePolicy(name: name, backends: [.init(backend: "up")])
        route.limits = limits
        route.pricing = RoutePricing(base: price)
        return route
    }

    static func request(_ caller: Caller, route: RoutePolicy, content: String = "hello", maxTokens: Int = 10) throws
        -> InferenceRequest
    {
        let json = #"{"model":"m","max_tokens":\#(maxTokens),"messages":[{"role":"user","content":"\#(content)"}]}"#
        let body = try #require(try JSONParser.parse(json).objectValue)
        return InferenceRequest(
            requestID: "req_\(UUID().uuidString.prefix(8))", kind: .chat, upstreamPath: "/chat/completions", body: body,
            rawBody: ByteBuffer(string: json), match: RouteMatch(route: route, requestedModel: "m", model: "m"),
            tenant: caller.tenant, caller: caller, wantsStream: false, includeUsage: false, directives: .none,
            cacheKey: nil, rawKey: nil, affinityHash: nil, ttlSeconds: 60)
    }

    static func table(_ route: RoutePolicy) throws -> RoutingTable {
        try PolicyLoader.load(
            sources: [
                PolicySource(
                    path: "t.toml",
                    text: """
                        [backends.up]
                        url = "http://127.0.0.1:9/v1"
                        [[routes]]
                        name = "\(route.name)"
                        backends = ["up"]
                        """)
            ],
            environment: [:]
        ).get()
    }

    static func entry(prompt: Int, completion: Int, cost: Double) -> CachedResponse {
        let body = #"{"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion)}}"#
        return CachedResponse(
            metadata: EntryMetadata(
                key: InferencePipeline.uniqueKey(), tenant: "acme", route: "chat", endpoint: "chat", model: "m",
                createdAt: 0, expiresAt: 60),
            body: Array(body.utf8), usage: TokenUsage(promptTokens: prompt, completionTokens: completion), costUSD: cost)
    }

    // MARK: Keys

    @Test func keysModeRefusesMissingUnknownAndRevokedKeys() throws {
        let setup = try Self.setup()
        let (key, stored) = try Self.key(setup.store)
        #expect(try setup.limits.authenticate(authorization: "Bearer \(key)").get().key?.id == stored.id)
        #expect(try setup.limits.authenticate(authorization: "Bearer \(key)").get().tenant == "acme")
        for header in [nil, "Bearer sk-upstream-key", "Bearer tg-0000", "Bearer "] as [String?] {
            guard case .failure(let error) = setup.limits.authenticate(authorization: header) else {
                Issue.record("\(header ?? "no header") was let in")
                continue
            }
            #expect(error.status == .unauthorized)
            #expect(error.code == "invalid_api_key")
        }
        let generation = setup.limits.keyGeneration
        _ = try setup.store.revoke(id: stored.id, at: 1)
        #expect(setup.limits.keyGeneration != generation)
        guard case .failure(let error) = setup.limits.authenticate(authorization: "Bearer \(key)") else {
            Issue.record("a revoked key was let in")
            return
        }
        #expect(error.message.contains("revoked"))
    }

    @Test func openModeLetsKeylessCallersInAsTheirOwnTenant() throws {
        let setup = try Self.setup(requireKeys: false)
        let caller = try setup.limits.authenticate(authorization: "Bearer sk-abc").get()
        #expect(caller.key == nil)
        #expect(caller.tenant == TenantResolver.tenant(authorization: "Bearer sk-abc"))
        #expect(try setup.limits.authenticate(authorization: nil).get().tenant == "anonymous")
        // A presented virtual key must still be a real one.
        guard case .failure = setup.limits.authenticate(authorization: "Bearer tg-nope") else {
            Issue.record("an unknown virtual key passed in open mode")
            return
        }
    }

    @Test func aKeyLimitedToSomeModelsGetsForbiddenForOthers() throws {
        let setup = try Self.setup()
        let (_, stored) = try Self.key(setup.store, models: ["gpt-4o*", "fast"])
        let caller = Caller(tenant: "acme", key: stored)
        #expect(setup.limits.checkModel(caller, requested: "gpt-4o-mini", resolved: "gpt-4o-mini") == nil)
        #expect(setup.limits.checkModel(caller, requested: "fast", resolved: "llama-3") == nil)
        let error = try #require(setup.limits.checkModel(caller, requested: "o1", resolved: "o1"))
        #expect(error.status == .forbidden)
        #expect(error.code == "model_not_allowed")
    }

    // MARK: Requests per minute

    @Test func everyRequestsWindowMustAdmitAndARefusalChargesNone() throws {
        let setup = try Self.setup()
        let (_, stored) = try Self.key(setup.store, rpm: 5)
        let caller = Caller(tenant: "acme", key: stored)
        let route = Self.route(limits: UsageLimits(requestsPerMinute: 2))
        let first = try setup.limits.admitRequest(caller, route: route, now: 0).get()
        #expect(first.requests?.limit == 2)
        #expect(first.requests?.remaining == 1)
        _ = try setup.limits.admitRequest(caller, route: route, now: 0).get()
        guard case .failure(let error) = setup.limits.admitRequest(caller, route: route, now: 0) else {
            Issue.record("the route's third request in a minute was admitted")
            return
        }
        #expect(error.status == .tooManyRequests)
        #expect(error.code == "rate_limit_exceeded")
        #expect(error.headers.contains { $0 == ("x-tollgate-limit", "route:chat:requests") })
        #expect(error.headers.contains { $0.0 == "retry-after" && Int($0.1)! >= 1 })
        // The key was not charged for the refused request: it still has 3 of 5 left.
        let other = Self.route("other")
        #expect(try setup.limits.admitRequest(caller, route: other, now: 0).get().requests?.remaining == 2)
    }

    // MARK: Tokens and budgets

    @Test func aBudgetReservesTheWorstCaseAndSettlesTheRealCostInTheLedger() async throws {
        let setup = try Self.setup()
        let (_, stored) = try Self.key(setup.store, budget: 1)
        let caller = Caller(tenant: "acme", key: stored)
        let route = Self.route(price: TokenPrice(inputPer1M: 1_000, outputPer1M: 10_000))
        let request = try Self.request(caller, route: route, content: "hello", maxTokens: 10)
        let admission = try setup.limits.admitMiss(request, table: try Self.table(route), now: Clock.wallNow()).get()
        // "hello" is 5 bytes + 4 framing + 3 reply = 12 input tokens, plus 10 output tokens.
        #expect(abs(admission.reservedUSD - (12 * 0.001 + 10 * 0.01)) < 1e-12)
        setup.limits.settle(admission, request: request, entry: Self.entry(prompt: 3, completion: 2, cost: 0.023))
        let status = setup.limits.budgets.status(LimitSubject(key: stored), now: Clock.wallNow())[0]
        #expect(status.reserved == 0)
        #expect(abs(status.spent - 0.023) < 1e-12)
        let rows = try setup.ledger.records(since: 0)
        #expect(rows.count == 1)
        #expect(rows[0].keyID == stored.id && rows[0].tenant == "acme" && rows[0].route == "chat")
        #expect(rows[0].promptTokens == 3 && rows[0].completionTokens == 2)
    }

    @Test func anExhaustedBudgetRefusesWithItsNameAndReleasesTheTokens() throws {
        let setup = try Self.setup()
        let (_, stored) = try Self.key(setup.store, tpm: 1_000, budget: 0.05)
        let caller = Caller(tenant: "acme", key: stored)
        let route = Self.route(price: TokenPrice(inputPer1M: 0, outputPer1M: 1_000))
        let request = try Self.request(caller, route: route, maxTokens: 10)
        let table = try Self.table(route)
        let now = Clock.wallNow()
        var held: [LimitEnforcer.Admission] = []
        for _ in 0..<5 { held.append(try setup.limits.admitMiss(request, table: table, now: now).get()) }
        guard case .failure(let refusal) = setup.limits.admitMiss(request, table: table, now: now) else {
            Issue.record("a sixth $0.01 reservation fitted a $0.05 budget")
            return
        }
        let error = refusal.error(report: RateReport())
        #expect(error.code == "budget_exceeded")
        #expect(error.headers.contains { $0 == ("x-tollgate-budget", "key:\(stored.id):total") })
        #expect(!error.headers.contains { $0.0 == "x-tollgate-budget-reset" })  // a total budget never resets
        // The refused request's prompt tokens went back to the window.
        let tokensLeft = setup.limits.rates.status(
            key: LimitSubject(key: stored).tokensKey, window: RateWindow(limit: 1_000), now: now
        ).remaining
        #expect(tokensLeft == 1_000 - 5 * held[0].tokenEstimate)
        setup.limits.release(held.removeFirst())
        #expect(throws: Never.self) { try setup.limits.admitMiss(request, table: table, now: now).get() }
    }

    @Test func tenantLimitsFromTheConfigApplyToEveryKeyOfTheTenant() throws {
        let setup = try Self.setup(tenants: ["acme": UsageLimits(requestsPerMinute: 1)])
        let (_, a) = try Self.key(setup.store)
        let (_, b) = try Self.key(setup.store)
        let route = Self.route()
        _ = try setup.limits.admitRequest(Caller(tenant: "acme", key: a), route: route, now: 0).get()
        guard case .failure(let error) = setup.limits.admitRequest(Caller(tenant: "acme", key: b), route: route, now: 0) else {
            Issue.record("the tenant's limit did not hold across its keys")
            return
        }
        #expect(error.headers.contains { $0 == ("x-tollgate-limit", "tenant:acme:requests") })
    }
}
