/// Running totals of an engine, read by the gateway's `/metrics`.
public struct EngineStatistics: Sendable, Hashable {
    public var requestsCompleted = 0
    public var requestsFailed = 0
    public var requestsRejected = 0
    public var promptTokens = 0
    public var cachedPromptTokens = 0
    public var completionTokens = 0
    public var prefillSeconds = 0.0
    public var decodeSeconds = 0.0
    /// Sum of log-probabilities of every generated token: exp(-sum / tokens) is the perplexity.
    public var sumLogProbability = 0.0
    public var queued = 0
    public var running = 0
    public var kvBytesInUse = 0

    public init() {}

    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokens - cachedPromptTokens) / prefillSeconds : 0 }
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(completionTokens) / decodeSeconds : 0 }
    public var meanLogProbability: Double { completionTokens > 0 ? sumLogProbability / Double(completionTokens) : 0 }
}
