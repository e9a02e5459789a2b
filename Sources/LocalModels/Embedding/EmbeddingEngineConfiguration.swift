/// How an `EmbeddingEngine` schedules its work.
public struct EmbeddingEngineConfiguration: Sendable, Hashable {
    /// Requests that may wait; one more is refused with `queueFull`.
    public var maxQueued: Int
    /// Texts the engine takes from the queue for one round (waiting requests are batched together up to this;
    /// a request with more texts runs alone).
    public var maxBatchTexts: Int
    /// Tokens of one forward pass; a round with more runs in several.
    public var maxBatchTokens: Int
    /// A text over the context length is cut to it (as sentence-transformers does); when false, its request fails
    /// with `contextExceeded` instead.
    public var truncate: Bool

    public init(maxQueued: Int = 64, maxBatchTexts: Int = 64, maxBatchTokens: Int = 2048, truncate: Bool = true) {
        self.maxQueued = maxQueued
        self.maxBatchTexts = maxBatchTexts
        self.maxBatchTokens = maxBatchTokens
        self.truncate = truncate
    }
}
