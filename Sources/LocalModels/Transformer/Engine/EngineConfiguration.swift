/// How an engine schedules its work.
public struct EngineConfiguration: Sendable, Hashable {
    /// Requests that may wait for the engine; one more is refused with `queueFull`.
    public var maxQueued: Int
    /// Prompt tokens evaluated per step of prefill; cancellation is checked between steps.
    public var prefillChunk: Int
    /// Completion length when a request sets none (the context size still caps it).
    public var defaultMaxTokens: Int

    public init(maxQueued: Int = 64, prefillChunk: Int = 256, defaultMaxTokens: Int = 512) {
        self.maxQueued = maxQueued
        self.prefillChunk = prefillChunk
        self.defaultMaxTokens = defaultMaxTokens
    }
}
