/// Running totals of an `EmbeddingEngine`, for `/metrics`.
public struct EmbeddingStatistics: Sendable, Hashable {
    public var requestsCompleted = 0
    public var requestsFailed = 0
    public var requestsRejected = 0
    public var texts = 0
    public var tokens = 0
    /// Rounds run: each takes the requests waiting together (texts / batches is the mean round).
    public var batches = 0
    /// Seconds spent tokenising and in forward passes.
    public var busySeconds = 0.0
    public var queued = 0
    public var running = 0

    public init() {}

    public var textsPerSecond: Double { busySeconds > 0 ? Double(texts) / busySeconds : 0 }
    public var tokensPerSecond: Double { busySeconds > 0 ? Double(tokens) / busySeconds : 0 }
}
