// Public initialisers for the engine's event types, so a completion can be replayed (and tested)
// outside the engine.

extension GeneratedToken {
    public init(id: Int32, bytes: [UInt8], logProbability: Float, alternatives: [GeneratedAlternative]) {
        self.init(id: id, bytes: bytes, logProbability: logProbability, top: alternatives)
    }
}

extension GenerationSummary {
    /// A completion that took no model time (answered from recorded tokens).
    public init(
        finishReason: FinishReason,
        promptTokens: Int,
        completionTokens: Int,
        cachedPromptTokens: Int,
        sumLogProbability: Double
    ) {
        self.init(
            finishReason: finishReason, promptTokens: promptTokens, completionTokens: completionTokens,
            cachedPromptTokens: cachedPromptTokens, timeToFirstToken: 0, prefillSeconds: 0, decodeSeconds: 0,
            sumLogProbability: sumLogProbability)
    }
}
