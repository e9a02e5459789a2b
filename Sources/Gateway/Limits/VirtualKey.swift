/// A virtual API key as stored: never the key itself, only its SHA-256.
struct VirtualKey: Sendable, Hashable {
    /// Public identifier ("vk_…"), shown in lists, logs and metrics instead of the key.
    var id: String
    var tenant: String
    /// Model names or globs the key may use; empty allows every model.
    var models: [String]
    var requestsPerMinute: Int?
    var tokensPerMinute: Int?
    var budgets: [BudgetSpec]
    /// Share of a budget (0...1) past which the alert metric rises; nil: no alert.
    var softThreshold: Double?
    var createdAt: Double
    var revokedAt: Double?

    var isRevoked: Bool { revokedAt != nil }

    struct BudgetSpec: Sendable, Hashable {
        var limitUSD: Double
        var period: BudgetPeriod
    }
}
