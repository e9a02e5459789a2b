/// The hyperparameters of a llama or qwen2 decoder, read from a GGUF file's `{arch}.*` metadata.
///
/// The defaults and fallbacks are llama.cpp's (`llama_model::load_hparams`), so that a file that
/// loads there loads here with the same numbers: rope base 10000, head dimension
/// `embedding / heads`, rope dimensions = head dimension, kv heads = heads.
public struct TransformerConfiguration: Sendable, Equatable {
    /// The decoder families this engine runs.
    public enum Architecture: String, Sendable, CaseIterable {
        case llama
        case qwen2
    }

    /// How rotary embedding pairs the dimensions of a head.
    public enum RotaryStyle: Sendable, Equatable {
        /// Dimensions `2i` and `2i + 1` rotate together (llama.cpp `LLAMA_ROPE_TYPE_NORM`, llama).
        case adjacentPairs
        /// Dimensions `i` and `i + n/2` rotate together (llama.cpp `LLAMA_ROPE_TYPE_NEOX`, qwen2).
        case halves
    }

    public var architecture: Architecture
    /// Positions the model was trained for; evaluation past it is refused.
    public var contextLength: Int
    public var embeddingLength: Int
    public var blockCount: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDimension: Int
    public var rmsEpsilon: Float
    public var ropeFrequencyBase: Float
    /// Leading dimensions of each head that rotate; the rest pass through.
    public var ropeDimensionCount: Int
    /// Linear position interpolation: positions are multiplied by this (1 / `rope.scaling.factor`).
    public var ropeFrequencyScale: Float
    /// Magnitude applied to cos and sin (`rope.scaling.attn_factor`, 1 by default).
    public var ropeAttentionFactor: Float
    public var rotaryStyle: RotaryStyle
    public var vocabularySize: Int

    /// Width of all query heads together.
    public var queryDimension: Int { headCount * headDimension }
    /// Width of all key (or value) heads together.
    public var kvDimension: Int { kvHeadCount * headDimension }
    /// Query heads that share one key/value head (grouped-query attention).
    public var groupSize: Int { headCount / kvHeadCount }

    public init(
        architecture: Architecture,
        contextLength: Int,
        embeddingLength: Int,
        blockCount: Int,
        feedForwardLength: Int,
        headCount: Int,
        kvHeadCount: Int,
        headDimension: Int,
        rmsEpsilon: Float,
        ropeFrequencyBase: Float = 10000,
        ropeDimensionCount: Int,
        ropeFrequencyScale: Float = 1,
        ropeAttentionFactor: Float = 1,
        vocabularySize: Int
    ) {
        self.architecture = architecture
        self.contextLength = contextLength
        self.embeddingLength = embeddingLength
        self.blockCount = blockCount
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDimension = headDimension
        self.rmsEpsilon = rmsEpsilon
        self.ropeFrequencyBase = ropeFrequencyBase
        self.ropeDimensionCount = ropeDimensionCount
        self.ropeFrequencyScale = ropeFrequencyScale
        self.ropeAttentionFactor = ropeAttentionFactor
        self.rotaryStyle = architecture == .qwen2 ? .halves : .adjacentPairs
        self.vocabularySize = vocabularySize
    }
}
