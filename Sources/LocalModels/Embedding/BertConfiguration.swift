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
        pooling: Pooling = .mean
    ) {
        self.contextLength = contextLength
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
