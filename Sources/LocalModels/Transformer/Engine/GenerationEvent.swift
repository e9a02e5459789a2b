/// Why a completion ended, as the OpenAI API names it.
public enum FinishReason: String, Sendable, Hashable {
    /// An end-of-generation token or a stop string.
    case stop
    /// `max_tokens` or the context size.
    case length
}

/// A token with its log-probability, for `logprobs` and `top_logprobs`.
public struct GeneratedAlternative: Sendable, Hashable {
    public var id: Int32
    /// The token's bytes as the tokenizer renders them (may be part of a UTF-8 character).
    public var bytes: [UInt8]
    public var logProbability: Float

    public init(id: Int32, bytes: [UInt8], logProbability: Float) {
        self.id = id
        self.bytes = bytes
        self.logProbability = logProbability
    }

    /// The bytes as text (a partial character shows as U+FFFD, as OpenAI does; `bytes` is exact).
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// One generated token.
public struct GeneratedToken: Sendable, Hashable {
    public var id: Int32
    public var bytes: [UInt8]
    /// Its log-probability under the model (before penalties and temperature).
    public var logProbability: Float
    /// The most likely alternatives, best first, when `top_logprobs` was asked for.
    public var top: [GeneratedAlternative]

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Token counts and timings of a finished completion.
public struct GenerationSummary: Sendable, Hashable {
    public var finishReason: FinishReason
    public var promptTokens: Int
    public var completionTokens: Int
    /// Prompt tokens whose KV state was reused rather than computed.
    public var cachedPromptTokens: Int
    /// Seconds from submission to the first generated token.
    public var timeToFirstToken: Double
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    /// Sum of the log-probabilities of the generated tokens (for perplexity).
    public var sumLogProbability: Double
}

/// What the engine reports for one request, in order, on its own thread.
public enum GenerationEvent: Sendable {
    /// New text (never a partial UTF-8 character; text that might begin a stop string is held back
    /// until it is known not to) and the tokens that completed it.
    case text(String, tokens: [GeneratedToken])
    /// The last event of a completion.
    case finished(GenerationSummary)
    /// The last event of a request that could not complete.
    case failed(EngineError)
}
