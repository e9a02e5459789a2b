/// How an engine schedules its work.
public struct EngineConfiguration: Sendable, Hashable {
    /// Requests that may wait for the engine; one more is refused with `queueFull`.
    public var maxQueued: Int
    /// Tokens evaluated per step at most: one for each decoding sequence, the rest (at least one)
    /// from the prompt of one joining sequence; cancellation is checked between steps.
    public var prefillChunk: Int
    /// Completion length when a request sets none (the context size still caps it).
    public var defaultMaxTokens: Int
    /// Sequences generating at once (continuous batching): each step evaluates one token of
    /// every running sequence in one pass. 1 runs requests one at a time.
    public var maxBatch: Int

    public init(maxQueued: Int = 64, prefillChunk: Int = 256, defaultMaxTokens: Int = 512, maxBatch: Int = 8) {
        self.maxQueued = maxQueued
        self.prefillChunk = prefillChunk
        self.defaultMaxTokens = defaultMaxTokens
        self.maxBatch = maxBatch
    }
}
