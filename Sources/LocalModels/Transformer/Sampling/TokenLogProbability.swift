/// The chosen token's log-probability and the most likely alternatives at its position: one entry of
/// OpenAI's `logprobs.content`.
public struct TokenLogProbability: Sendable, Hashable {
    public var token: Int32
    /// Natural log of the token's probability under the model (before penalties and temperature).
    public var logProbability: Float
    /// The most likely tokens, highest first (lower id first on ties); may include `token` itself.
    public var top: [TokenAlternative]

    public init(token: Int32, logProbability: Float, top: [TokenAlternative]) {
        self.token = token
        self.logProbability = logProbability
        self.top = top
    }
}
