/// The span a route's USD budget covers (`period` in `limits.budgets`).
public enum BudgetWindow: String, Sendable, Hashable, Encodable, CaseIterable {
    /// A UTC calendar day, or the last 24 hours when rolling.
    case day
    /// A UTC calendar week from Monday, or the last 7 days when rolling.
    case week
    /// A UTC calendar month, or the last 30 days when rolling.
    case month
    /// Never resets.
    case total
}

/// One USD budget of a route (`{ usd = 50, period = "day", rolling = false }`).
public struct BudgetLimit: Sendable, Hashable, Encodable {
    /// Dollars the route may spend in one period; greater than 0.
    public var usd: Double
    public var period: BudgetWindow
    /// A sliding window ending now instead of the calendar (UTC) period. Default `false`;
    /// ignored for ``BudgetWindow/total``.
    public var rolling: Bool

    public init(usd: Double, period: BudgetWindow, rolling: Bool = false) {
        self.usd = usd
        self.period = period
        self.rolling = rolling
    }
}

/// Rate limits and budgets of a route (`limits = { ... }` in a route). The router only carries
/// them; the gateway counts and enforces.
public struct UsageLimits: Sendable, Hashable, Encodable {
    /// Requests per minute (`rpm`), at least 1; `nil` (the default) means no limit.
    public var requestsPerMinute: Int?
    /// Prompt plus completion tokens per minute (`tpm`), at least 1; `nil` means no limit.
    public var tokensPerMinute: Int?
    /// Every budget must have room for a request. Default none.
    public var budgets: [BudgetLimit]
    /// Share of a budget (`0 < x <= 1`) past which the gateway raises its alert metric;
    /// `nil` (the default) means no alert.
    public var softThreshold: Double?

    /// Whether no limit of any kind is set.
    public var isEmpty: Bool {
        requestsPerMinute == nil && tokensPerMinute == nil && budgets.isEmpty
    }

    public init(
        requestsPerMinute: Int? = nil,
        tokensPerMinute: Int? = nil,
        budgets: [BudgetLimit] = [],
        softThreshold: Double? = nil
    ) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.budgets = budgets
        self.softThreshold = softThreshold
    }

    enum CodingKeys: String, CodingKey {
        case budgets
        case requestsPerMinute = "rpm"
        case tokensPerMinute = "tpm"
        case softThreshold = "soft_threshold"
    }
}
