/// How the next token is chosen from the model's logits: the fields of an OpenAI-style request
/// (`temperature`, `top_p`, `frequency_penalty`, `presence_penalty`, `seed`) plus llama.cpp's
/// `top_k`, `min_p` and `repeat_penalty`.
///
/// The defaults change nothing: temperature 1 over the whole vocabulary, no truncation, no penalties.
public struct SamplingParameters: Sendable, Hashable {
    /// Divides the logits before the draw; `<= 0` means greedy (the highest logit, lowest id on ties).
    public var temperature: Float
    /// Keeps only the `topK` highest logits; `0` (or anything `>=` the vocabulary) keeps all.
    public var topK: Int
    /// Keeps the smallest set of most likely tokens whose probability reaches `topP`; `1` keeps all.
    public var topP: Float
    /// Drops tokens whose probability is below `minP` times the most likely token's; `0` keeps all.
    public var minP: Float
    /// llama.cpp's repeat penalty: a recently seen token's logit is divided by it when positive and
    /// multiplied by it when negative, once however often it occurred; `1` is off.
    public var repetitionPenalty: Float
    /// OpenAI's frequency penalty: subtracted from a recently seen token's logit once per occurrence.
    public var frequencyPenalty: Float
    /// OpenAI's presence penalty: subtracted once from the logit of every recently seen token.
    public var presencePenalty: Float
    /// How many of the most recent tokens (prompt and generated) the penalties look at;
    /// `0` turns the penalties off, a negative value looks at the whole history.
    public var penaltyWindow: Int
    /// Seeds the sampler's own generator, so one seed gives the same tokens on every machine and run;
    /// `nil` draws a fresh seed per request.
    public var seed: UInt64?

    public init(
        temperature: Float = 1,
        topK: Int = 0,
        topP: Float = 1,
        minP: Float = 0,
        repetitionPenalty: Float = 1,
        frequencyPenalty: Float = 0,
        presencePenalty: Float = 0,
        penaltyWindow: Int = 64,
        seed: UInt64? = nil
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.penaltyWindow = penaltyWindow
        self.seed = seed
    }

    /// Whether sampling is a plain argmax (after penalties), drawing nothing from the generator.
    public var isGreedy: Bool { !(temperature > 0) }

    /// Whether any penalty would change a logit.
    var hasPenalties: Bool {
        penaltyWindow != 0 && (repetitionPenalty != 1 || frequencyPenalty != 0 || presencePenalty != 0)
    }
}
