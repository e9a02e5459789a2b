import Cache
import Logging
import NIOPosix
import Router
import Synchronization

/// Keys, rate limits and budgets for the data plane. The handler asks it, on the event loop,
/// who a request is from and whether its requests-per-minute allow it; the miss path asks it to
/// admit the request's tokens and reserve its worst-case cost, and settles the real cost in the
/// ledger before the response completes.
final class LimitEnforcer: Sendable {
    /// Every data-plane request must present a virtual key.
    let requireKeys: Bool
    let keys: VirtualKeyStore?
    let ledger: SpendLedger?
    let rates = RateLimiter()
    let budgets: BudgetBook
    let tenantSubjects: [String: LimitSubject]
    let defaultMaxTokens: Int
    /// Cache hits charge nothing against budgets and token limits.
    let cacheHitsFree: Bool
    let metrics: LimitMetrics
    let threadPool: NIOThreadPool
    let logger: Logger
    /// Each limited route's subject, made once per policy version rather than per request.
    private let routeSubjects = Mutex<[String: (UsageLimits, LimitSubject)]>([:])
    /// Each key's subject, made on its first request (keys do not change once issued).
    private let keySubjects = Mutex<[String: LimitSubject]>([:])

    init(
        requireKeys: Bool,
        keys: VirtualKeyStore?,
        ledger: SpendLedger?,
        tenants: [String: UsageLimits],
        defaultMaxTokens: Int,
        cacheHitsFree: Bool,
        metrics: LimitMetrics,
        threadPool: NIOThreadPool,
        logger: Logger
    ) {
        self.requireKeys = requireKeys
        self.keys = keys
        self.ledger = ledger
        self.budgets = BudgetBook(ledger: ledger)
        self.tenantSubjects = tenants.filter { !$0.value.isEmpty }.reduce(into: [:]) { out, item in
            out[item.key] = LimitSubject(kind: .tenant, id: item.key, limits: item.value)
        }
        self.defaultMaxTokens = defaultMaxTokens
        self.cacheHitsFree = cacheHitsFree
        self.metrics = metrics
        self.threadPool = threadPool
        self.logger = logger
    }

    /// No keys, no limits: what tests and embedded uses get.
    static func unlimited(threadPool: NIOThreadPool, logger: Logger) -> LimitEnforcer {
        LimitEnforcer(
            requireKeys: false, keys: nil, ledger: nil, tenants: [:], defaultMaxTokens: 4096, cacheHitsFree: true,
            metrics: LimitMetrics(), threadPool: threadPool, logger: logger)
    }

    var keyGeneration: UInt64 { keys?.generation ?? 0 }

    // MARK: Keys (event loop)

    /// The caller behind an `Authorization` header. A `tg-` key must be a live virtual key;
    /// any other bearer (or none) is accepted only in open mode, as a tenant of its own.
    func authenticate(authorization: String?) -> Result<Caller, GatewayError> {
        let token = TenantResolver.bearerToken(authorization)
        if let token, token.hasPrefix(VirtualKeyStore.keyPrefix), let keys {
            guard let key = keys.lookup(String(token)) else {
                metrics.authFailures.increment()
                return .failure(.invalidKey(revoked: false))
            }
            guard !key.isRevoked else {
                metrics.authFailures.increment()
                return .failure(.invalidKey(revoked: true))
            }
            let subject = keySubjects.withLock { cached in
                if let subject = cached[key.id] { return subject }
                let subject = LimitSubject(key: key)
                cached[key.id] = subject
                return subject
            }
            return .success(Caller(tenant: key.tenant, key: key, subject: subject))
        }
        guard !requireKeys else {
            metrics.authFailures.increment()
            return .failure(token == nil ? .missingKey() : .invalidKey(revoked: false))
        }
        return .success(Caller(tenant: TenantResolver.tenant(token: token)))
    }

    /// A key limited to some models may use a model when the name it asked for, or the one
    /// that name resolved to, matches one of its globs.
    func checkModel(_ caller: Caller, requested: String, resolved: String) -> GatewayError? {
        guard let key = caller.key, !key.models.isEmpty else { return nil }
        for glob in key.models {
            let pattern = ModelPattern(glob)
            if pattern.matches(requested) || pattern.matches(resolved) { return nil }
        }
        metrics.modelRefusals.increment()
        return .modelNotAllowed(requested, key: key)
    }

    /// Every subject whose limits a request on `route` is held to.
    func subjects(_ caller: Caller, route: RoutePolicy) -> [LimitSubject] {
        var out: [LimitSubject] = []
        if let subject = caller.keySubject, subject.hasLimits { out.append(subject) }
        if let subject = tenantSubjects[caller.tenant] { out.append(subject) }
        if !route.limits.isEmpty { out.append(routeSubject(route)) }
        return out
    }

    private func routeSubject(_ route: RoutePolicy) -> LimitSubject {
        routeSubjects.withLock { cached in
            if let (limits, subject) = cached[route.name], limits == route.limits { return subject }
            let subject = LimitSubject(kind: .route, id: route.name, limits: route.limits)
            cached[route.name] = (route.limits, subject)
            return subject
        }
    }

    /// One request against every requests-per-minute window; all admit it or none is charged.
    func admitRequest(_ caller: Caller, route: RoutePolicy, now: Double) -> Result<RateReport, GatewayError> {
        var report = RateReport()
        let subjects = subjects(caller, route: route)
        guard !subjects.isEmpty else { return .success(report) }
        var admitted: [(String, RateWindow)] = []
        for subject in subjects {
            if let rpm = subject.requestsPerMinute {
                let window = RateWindow(limit: rpm)
                switch rates.admit(key: subject.requestsKey, cost: 1, window: window, now: now) {
                case .admitted(_, let status):
                    admitted.append((subject.requestsKey, window))
                    report.requests = RateReport.tighter(report.requests, status)
                case .refused(let retryAfter, let status):
                    for (key, window) in admitted { rates.refund(key: key, cost: 1, window: window, now: now) }
                    report.requests = RateReport.tighter(report.requests, status)
                    report.tokens = tokenStatus(subjects, now: now)
                    metrics.rejected(limit: "requests", subject: subject.kind)
                    let refusal = LimitRefusal.rate(subject: subject, unit: "requests", retryAfter: retryAfter, status: status)
                    return .failure(refusal.error(report: report))
                }
            }
        }
        report.tokens = tokenStatus(subjects, now: now)
        return .success(report)
    }

    private func tokenStatus(_ subjects: [LimitSubject], now: Double) -> RateWindow.Status? {
        var tightest: RateWindow.Status?
        for subject in subjects {
            guard let tpm = subject.tokensPerMinute else { continue }
            tightest = RateReport.tighter(tightest, rates.status(key: subject.tokensKey, window: RateWindow(limit: tpm), now: now))
        }
        return tightest
    }

    // MARK: Tokens and budgets (miss path)

    /// What a request holds from admission until it settles or is released.
    struct Admission: Sendable {
        var caller: Caller
        var subjects: [LimitSubject]
        var holds: [BudgetBook.Hold]
        var reservedUSD: Double
        var tokenEstimate: Int
        var prompt: PromptSize
        var tokenWindows: [(key: String, window: RateWindow)]

        var isEmpty: Bool { holds.isEmpty && tokenWindows.isEmpty }
    }

    /// Charges the prompt's estimated tokens to every tokens-per-minute window and reserves the
    /// worst case (prompt upper bound plus max_tokens at the dearest backend the route may use)
    /// on every budget. All or nothing: a refusal leaves no trace.
    func admitMiss(_ request: InferenceRequest, table: RoutingTable, now: Double) -> Result<Admission, LimitRefusal> {
        let subjects = subjects(request.caller, route: request.route)
        let prompt = PromptSize(kind: request.kind, body: request.body, defaultMaxTokens: defaultMaxTokens)
        var admission = Admission(
            caller: request.caller, subjects: subjects, holds: [], reservedUSD: 0, tokenEstimate: prompt.estimate,
            prompt: prompt, tokenWindows: [])
        guard !subjects.isEmpty else { return .success(admission) }
        for subject in subjects {
            guard let tpm = subject.tokensPerMinute else { continue }
            let window = RateWindow(limit: tpm)
            switch rates.admit(key: subject.tokensKey, cost: prompt.estimate, window: window, now: now) {
            case .admitted:
                admission.tokenWindows.append((subject.tokensKey, window))
            case .refused(let retryAfter, let status):
                refundTokens(admission, now: now)
                metrics.rejected(limit: "tokens", subject: subject.kind)
                return .failure(.rate(subject: subject, unit: "tokens", retryAfter: retryAfter, status: status))
            }
        }
        guard subjects.contains(where: { !$0.budgets.isEmpty }) else { return .success(admission) }
        let price = Pricing.worstCase(route: request.route, table: table, model: request.match.model)
        let worst = price.cost(prompt: prompt.upperBound, completion: prompt.maxCompletionTokens)
        switch budgets.reserve(subjects, amount: worst, now: now) {
        case .success(let holds):
            admission.holds = holds
            admission.reservedUSD = worst
            return .success(admission)
        case .failure(let refusal):
            refundTokens(admission, now: now)
            let subject = subjects.first { $0.name == refusal.id.subject } ?? subjects[0]
            metrics.rejected(limit: "budget", subject: subject.kind)
            return .failure(.budget(subject: subject, refusal, needed: worst))
        }
    }

    /// The tokens-per-minute status after admission, for the headers.
    func tokenReport(_ admission: Admission, now: Double) -> RateWindow.Status? {
        tokenStatus(admission.subjects, now: now)
    }

    /// Books a finished request: the ledger row first (durable before the response completes),
    /// then the budgets and the token windows with the real usage.
    func settle(_ admission: Admission, request: InferenceRequest, entry: CachedResponse, cost: Double? = nil) async {
        await settle(
            admission, requestID: request.requestID, route: request.route.name, model: request.match.model,
            cost: cost ?? entry.costUSD ?? 0, usage: entry.usage)
    }

    func settle(
        _ admission: Admission, requestID: String, route: String, model: String, cost: Double, usage: TokenUsage?
    ) async {
        let now = Clock.wallNow()
        if let ledger, !admission.holds.isEmpty || cost > 0 {
            let record = SpendRecord(
                time: now, requestID: requestID, keyID: admission.caller.keyID, tenant: admission.caller.tenant,
                route: route, model: model, costUSD: cost,
                promptTokens: usage?.promptTokens ?? admission.prompt.estimate,
                completionTokens: usage?.completionTokens ?? 0)
            do {
                // Written here, on the event loop that runs this task: one WAL append of tens of
                // microseconds, where handing it to the thread pool and back costs two wake-ups.
                try ledger.record(record)
            } catch {
                metrics.ledgerErrors.increment()
                logger.error(
                    "spend ledger write failed; the spend is counted in memory only",
                    metadata: ["tollgate.request_id": "\(requestID)", "tollgate.error": "\(error)"])
            }
        }
        for id in budgets.settle(admission.holds, actual: cost, now: now) {
            metrics.budgetAlert(id.name)
        }
        if let usage {
            let difference = usage.totalTokens - admission.tokenEstimate
            for (key, window) in admission.tokenWindows {
                if difference > 0 {
                    rates.charge(key: key, cost: difference, window: window, now: now)
                } else if difference < 0 {
                    rates.refund(key: key, cost: -difference, window: window, now: now)
                }
            }
        }
        metrics.spent(cost, keyID: admission.caller.keyID, tenant: admission.caller.tenant, route: route)
    }

    /// A tabular request's rows: their cost is known before they run (rows × the price per
    /// row), so the budgets reserve exactly that.
    func admitRows(_ caller: Caller, route: RoutePolicy, cost: Double, now: Double) -> Result<Admission, LimitRefusal> {
        let subjects = subjects(caller, route: route)
        let prompt = PromptSize(upperBound: 0, estimate: 0, maxCompletionTokens: 0)
        var admission = Admission(
            caller: caller, subjects: subjects, holds: [], reservedUSD: 0, tokenEstimate: 0, prompt: prompt,
            tokenWindows: [])
        guard subjects.contains(where: { !$0.budgets.isEmpty }) else { return .success(admission) }
        switch budgets.reserve(subjects, amount: cost, now: now) {
        case .success(let holds):
            admission.holds = holds
            admission.reservedUSD = cost
            return .success(admission)
        case .failure(let refusal):
            let subject = subjects.first { $0.name == refusal.id.subject } ?? subjects[0]
            metrics.rejected(limit: "budget", subject: subject.kind)
            return .failure(.budget(subject: subject, refusal, needed: cost))
        }
    }

    /// A request that failed, was cancelled, or joined another's call: nothing is spent.
    func release(_ admission: Admission) {
        budgets.release(admission.holds)
        refundTokens(admission, now: Clock.wallNow())
    }

    private func refundTokens(_ admission: Admission, now: Double) {
        for (key, window) in admission.tokenWindows {
            rates.refund(key: key, cost: admission.tokenEstimate, window: window, now: now)
        }
    }

    /// Reports what a cache hit saved the caller.
    func recordSaving(_ amount: Double, caller: Caller, route: String) {
        guard amount > 0 else { return }
        metrics.saved(amount, keyID: caller.keyID, tenant: caller.tenant, route: route)
    }
}

/// Says on a response that its route's budget was spent and another route served it.
enum BudgetFallbackHeader {
    static let name = "x-tollgate-budget-fallback"
}

extension LimitEnforcer {
    /// What the stored answer cost when it was made: its recorded cost, or its usage at the
    /// route's price (an entry read back from disk).
    func savedCost(_ entry: CachedResponse, table: RoutingTable) -> Double {
        if let cost = entry.costUSD { return cost }
        guard let usage = entry.usage, let route = table.route(named: entry.metadata.route) else { return 0 }
        let backend = route.backends.first.flatMap { table.backends[$0.backend] }
        return Pricing.price(backend: backend, route: route, model: entry.metadata.model).cost(usage)
    }

    /// With `cache_hits_free = false`, a hit is charged like a call that cost `cost`: its tokens
    /// against the windows and its cost against the budgets (refused when they cannot take it).
    func chargeHit(_ request: InferenceRequest, entry: CachedResponse, cost: Double) async -> LimitRefusal? {
        let now = Clock.wallNow()
        let subjects = subjects(request.caller, route: request.route)
        let tokens = entry.usage?.totalTokens ?? 0
        var charged: [(String, RateWindow)] = []
        for subject in subjects {
            guard let tpm = subject.tokensPerMinute else { continue }
            let window = RateWindow(limit: tpm)
            if case .refused(let retryAfter, let status) = rates.admit(key: subject.tokensKey, cost: tokens, window: window, now: now) {
                for (key, window) in charged { rates.refund(key: key, cost: tokens, window: window, now: now) }
                metrics.rejected(limit: "tokens", subject: subject.kind)
                return .rate(subject: subject, unit: "tokens", retryAfter: retryAfter, status: status)
            }
            charged.append((subject.tokensKey, window))
        }
        switch budgets.reserve(subjects, amount: cost, now: now) {
        case .failure(let refusal):
            for (key, window) in charged { rates.refund(key: key, cost: tokens, window: window, now: now) }
            let subject = subjects.first { $0.name == refusal.id.subject } ?? subjects[0]
            metrics.rejected(limit: "budget", subject: subject.kind)
            return .budget(subject: subject, refusal, needed: cost)
        case .success(let holds):
            let prompt = PromptSize(upperBound: 0, estimate: tokens, maxCompletionTokens: 0)
            let admission = Admission(
                caller: request.caller, subjects: subjects, holds: holds, reservedUSD: cost, tokenEstimate: tokens,
                prompt: prompt, tokenWindows: [])
            await settle(admission, request: request, entry: entry, cost: cost)
            return nil
        }
    }
}
