import Cache
import Logging
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
        self.logger = logger
    }

    /// No keys, no limits: what tests and embedded uses get.
    static func unlimited(logger: Logger) -> LimitEnforcer {
        LimitEnforcer(
            requireKeys: false, keys: nil, ledger: nil, tenants: [:], defaultMaxTokens: 4096, cacheHitsFree: true,
            metrics: LimitMetrics(), logger: logger)
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
        switch admitWindows(subjects, unit: .requests, cost: 1, now: now) {
        case .success(let admitted):
            report.requests = admitted.tightest
            report.tokens = tokenStatus(subjects, now: now)
            return .success(report)
        case .failure(let refusal):
            if case .rate(_, _, _, let status) = refusal { report.requests = status }
            report.tokens = tokenStatus(subjects, now: now)
            return .failure(refusal.error(report: report))
        }
    }

    enum WindowUnit: String {
        case requests, tokens
    }

    /// Charges `cost` on every subject's window of `unit`, all or none: a refusal gives back
    /// what the windows before it took.
    private func admitWindows(_ subjects: [LimitSubject], unit: WindowUnit, cost: Int, now: Double)
        -> Result<(windows: [(key: String, window: RateWindow)], tightest: RateWindow.Status?), LimitRefusal>
    {
        var windows: [(key: String, window: RateWindow)] = []
        var tightest: RateWindow.Status?
        for subject in subjects {
            guard let limit = unit == .requests ? subject.requestsPerMinute : subject.tokensPerMinute else { continue }
            let key = unit == .requests ? subject.requestsKey : subject.tokensKey
            let window = RateWindow(limit: limit)
            switch rates.admit(key: key, cost: cost, window: window, now: now) {
            case .admitted(_, let status):
                windows.append((key, window))
                tightest = RateReport.tighter(tightest, status)
            case .refused(let retryAfter, let status):
                for (key, window) in windows { rates.refund(key: key, cost: cost, window: window, now: now) }
                metrics.rejected(limit: unit.rawValue, subject: subject.kind)
                return .failure(.rate(subject: subject, unit: unit.rawValue, retryAfter: retryAfter, status: status))
            }
        }
        return .success((windows, tightest))
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
        var holds: [BudgetBook.Hold] = []
        var reservedUSD: Double = 0
        /// Tokens charged to the windows at admission (the real count replaces it at settling).
        var tokenEstimate: Int
        var tokenWindows: [(key: String, window: RateWindow)] = []
    }

    /// Charges the prompt's estimated tokens to every tokens-per-minute window and reserves the
    /// worst case (prompt upper bound plus max_tokens at the dearest backend the route may use)
    /// on every budget. All or nothing: a refusal leaves no trace.
    func admitMiss(_ request: InferenceRequest, table: RoutingTable, now: Double) -> Result<Admission, LimitRefusal> {
        let subjects = subjects(request.caller, route: request.route)
        guard !subjects.isEmpty else {
            return .success(Admission(caller: request.caller, subjects: [], tokenEstimate: 0))
        }
        let prompt = PromptSize(kind: request.kind, body: request.body, defaultMaxTokens: defaultMaxTokens)
        let worst: Double
        if subjects.contains(where: { !$0.budgets.isEmpty }) {
            let price = Pricing.worstCase(route: request.route, table: table, model: request.match.model)
            worst = price.cost(prompt: prompt.upperBound, completion: prompt.maxCompletionTokens)
        } else {
            worst = 0
        }
        return admit(request.caller, subjects, tokens: prompt.estimate, usd: worst, now: now)
    }

    /// A tabular request's rows: their cost is known before they run (rows × the price per
    /// row), so the budgets reserve exactly that. Rows are not tokens: no token window applies.
    func admitRows(_ caller: Caller, route: RoutePolicy, cost: Double, now: Double) -> Result<Admission, LimitRefusal> {
        admit(caller, subjects(caller, route: route), tokens: nil, usd: cost, now: now)
    }

    /// `tokens` on every tokens-per-minute window (nil: none), then `usd` on every budget; a
    /// refusal of either leaves nothing charged.
    private func admit(_ caller: Caller, _ subjects: [LimitSubject], tokens: Int?, usd: Double, now: Double)
        -> Result<Admission, LimitRefusal>
    {
        var admission = Admission(caller: caller, subjects: subjects, tokenEstimate: tokens ?? 0)
        if let tokens {
            switch admitWindows(subjects, unit: .tokens, cost: tokens, now: now) {
            case .success(let admitted): admission.tokenWindows = admitted.windows
            case .failure(let refusal): return .failure(refusal)
            }
        }
        guard subjects.contains(where: { !$0.budgets.isEmpty }) else { return .success(admission) }
        switch budgets.reserve(subjects, amount: usd, now: now) {
        case .success(let holds):
            admission.holds = holds
            admission.reservedUSD = usd
            return .success(admission)
        case .failure(let refusal):
            refundTokens(admission, now: now)
            let subject = subjects.first { $0.name == refusal.id.subject } ?? subjects[0]
            metrics.rejected(limit: "budget", subject: subject.kind)
            return .failure(.budget(subject: subject, refusal, needed: usd))
        }
    }

    /// The tokens-per-minute status after admission, for the headers.
    func tokenReport(_ admission: Admission, now: Double) -> RateWindow.Status? {
        tokenStatus(admission.subjects, now: now)
    }

    /// Books a finished request: the ledger row first (durable before the response completes),
    /// then the budgets and the token windows with the real usage.
    func settle(_ admission: Admission, request: InferenceRequest, entry: CachedResponse, cost: Double? = nil) {
        settle(
            admission, requestID: request.requestID, route: request.route.name, model: request.match.model,
            cost: cost ?? entry.costUSD ?? 0, usage: entry.usage)
    }

    func settle(
        _ admission: Admission, requestID: String, route: String, model: String, cost: Double, usage: TokenUsage?
    ) {
        let now = Clock.wallNow()
        if let ledger, !admission.holds.isEmpty || cost > 0 {
            let record = SpendRecord(
                time: now, requestID: requestID, keyID: admission.caller.keyID, tenant: admission.caller.tenant,
                route: route, model: model, costUSD: cost,
                promptTokens: usage?.promptTokens ?? admission.tokenEstimate,
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
    func chargeHit(_ request: InferenceRequest, entry: CachedResponse, cost: Double) -> LimitRefusal? {
        let subjects = subjects(request.caller, route: request.route)
        switch admit(request.caller, subjects, tokens: entry.usage?.totalTokens ?? 0, usd: cost, now: Clock.wallNow()) {
        case .failure(let refusal):
            return refusal
        case .success(let admission):
            settle(admission, request: request, entry: entry, cost: cost)
            return nil
        }
    }
}
