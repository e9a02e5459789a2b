/// One of the most likely tokens at a position, for OpenAI's `top_logprobs`.
public struct TokenAlternative: Sendable, Hashable {
    public var token: Int32
    /// Natural log of the token's probability under the model (before penalties and temperature).
    public var logProbability: Float

    public init(token: Int32, logProbability: Float) {
        self.token = token
        self.logProbability = logProbability
    }
}
