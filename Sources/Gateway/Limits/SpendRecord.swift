/// One settled request in the spend ledger: who spent what, where, when.
struct SpendRecord: Sendable, Hashable {
    var time: Double
    var requestID: String
    /// The virtual key's id ("" when the request came without one, in open mode).
    var keyID: String
    var tenant: String
    var route: String
    var model: String
    var costUSD: Double
    var promptTokens: Int
    var completionTokens: Int
}
