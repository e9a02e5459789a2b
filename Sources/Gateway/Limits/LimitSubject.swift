import Router

/// Something limits and budgets are kept for: a virtual key, a tenant or a route. A request is
/// held to every subject it belongs to. Immutable and shared: a request passes references
/// around, not copies of its strings.
final class LimitSubject: Sendable, Hashable {
    enum Kind: String, Sendable, Hashable {
        case key, tenant, route
    }

    let kind: Kind
    let id: String
    let requestsPerMinute: Int?
    let tokensPerMinute: Int?
    let budgets: [VirtualKey.BudgetSpec]
    let softThreshold: Double?
    /// "key:vk_…", "tenant:acme", "route:default": how the subject is named in errors and admin.
    let name: String
    /// Rate-limiter keys, made once.
    let requestsKey: String
    let tokensKey: String

    init(
        kind: Kind, id: String, requestsPerMinute: Int?, tokensPerMinute: Int?, budgets: [VirtualKey.BudgetSpec],
        softThreshold: Double?
    ) {
        self.kind = kind
        self.id = id
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.budgets = budgets
        self.softThreshold = softThreshold
        name = kind.rawValue + ":" + id
        requestsKey = name + ":requests"
        tokensKey = name + ":tokens"
    }

    static func == (a: LimitSubject, b: LimitSubject) -> Bool {
        a.name == b.name && a.requestsPerMinute == b.requestsPerMinute && a.tokensPerMinute == b.tokensPerMinute
            && a.budgets == b.budgets && a.softThreshold == b.softThreshold
    }

    func hash(into hasher: inout Hasher) { hasher.combine(name) }

    convenience init(kind: Kind, id: String, limits: UsageLimits) {
        self.init(
            kind: kind, id: id, requestsPerMinute: limits.requestsPerMinute, tokensPerMinute: limits.tokensPerMinute,
            budgets: limits.budgets.compactMap(VirtualKey.BudgetSpec.init), softThreshold: limits.softThreshold)
    }

    convenience init(key: VirtualKey) {
        self.init(
            kind: .key, id: key.id, requestsPerMinute: key.requestsPerMinute, tokensPerMinute: key.tokensPerMinute,
            budgets: key.budgets, softThreshold: key.softThreshold)
    }

    var hasLimits: Bool { requestsPerMinute != nil || tokensPerMinute != nil || !budgets.isEmpty }

    /// "key vk_abc", "tenant acme", "route default": for messages.
    var phrase: String { kind.rawValue + " " + id }

    /// The ledger column that names this subject.
    var ledgerColumn: String {
        switch kind {
        case .key: "key_id"
        case .tenant: "tenant"
        case .route: "route"
        }
    }
}

extension VirtualKey.BudgetSpec {
    init?(_ limit: BudgetLimit) {
        guard limit.usd > 0, let period = BudgetPeriod(name: limit.period.rawValue, rolling: limit.rolling) else {
            return nil
        }
        self.init(limitUSD: limit.usd, period: period)
    }
}
