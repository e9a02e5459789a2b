/// The vectors of one `EmbeddingEngine.embed` call, in the order of its texts, and what they cost.
public struct EmbeddingResult: Sendable, Hashable {
    /// One L2-normalised vector per text.
    public var vectors: [[Float]]
    /// Tokens of each text as the model saw it (`[CLS]` and `[SEP]` included, after truncation).
    public var tokenCounts: [Int]
    /// Texts cut to the context length.
    public var truncatedCount: Int

    public init(vectors: [[Float]], tokenCounts: [Int], truncatedCount: Int = 0) {
        self.vectors = vectors
        self.tokenCounts = tokenCounts
        self.truncatedCount = truncatedCount
    }

    /// Tokens of all texts: the `usage.prompt_tokens` of an embeddings response.
    public var promptTokens: Int { tokenCounts.reduce(0, +) }
}
