/// The shape of a BERT encoder, as its GGUF file gives it (llama.cpp's `bert.*` keys).
public struct BertConfiguration: Sendable, Hashable {
    /// How the token states become one vector (`bert.pooling_type`).
    public enum Pooling: Int, Sendable, Hashable {
        /// The mean of every token's final state, `[CLS]` and `[SEP]` included (sentence-transformers' mean).
        case mean = 1
        /// The final state of `[CLS]`.
        case cls = 2
    }

    /// Positions the model has embeddings for: the most tokens one text may have, `[CLS]` and `[SEP]` included.
    public var contextLength: Int
    /// The most tokens a text is cut to, `[CLS]` and `[SEP]` included: the model's own limit when its file
    /// names one (`sentence_transformers.max_seq_length`, which sentence-transformers cuts at: 256 for
    /// all-MiniLM-L6-v2), else the context length.
    public var maxInputTokens: Int
    public var embeddingLength: Int
    public var blockCount: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var layerNormEpsilon: Float
    public var vocabularySize: Int
    public var pooling: Pooling

    public init(
        contextLength: Int,
        embeddingLength: Int,
        blockCount: Int,
        feedForwardLength: Int,
        headCount: Int,
        layerNormEpsilon: Float,
        vocabularySize: Int,
        pooling: Pooling = .mean,
        maxInputTokens: Int? = nil
    ) {
        self.contextLength = contextLength
        self.maxInputTokens = min(contextLength, max(2, maxInputTokens ?? contextLength))
        self.embeddingLength = embeddingLength
        self.blockCount = blockCount
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.layerNormEpsilon = layerNormEpsilon
        self.vocabularySize = vocabularySize
        self.pooling = pooling
    }

    public var headDimension: Int { embeddingLength / headCount }
}
