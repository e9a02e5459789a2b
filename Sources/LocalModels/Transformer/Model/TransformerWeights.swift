/// Every tensor of a llama or qwen2 decoder, bound by name to the memory-mapped file.
///
/// Matrices stay in the file's mapping in their stored type (the kernels read them in place);
/// norms and biases are small, so they are converted to `Float` once here. The weights keep
/// the `GGUFFile` alive, which keeps the mapping valid for every `WeightMatrix.base`.
public struct TransformerWeights: @unchecked Sendable {
    /// One decoder block.
    public struct Layer: @unchecked Sendable {
        public var attentionNorm: [Float]
        public var query: WeightMatrix
        public var key: WeightMatrix
        public var value: WeightMatrix
        public var attentionOutput: WeightMatrix
        /// qwen2 always has these three; llama files may.
        public var queryBias: [Float]?
        public var keyBias: [Float]?
        public var valueBias: [Float]?
        public var attentionOutputBias: [Float]?
        public var feedForwardNorm: [Float]
        public var gate: WeightMatrix
        public var up: WeightMatrix
        public var down: WeightMatrix
        public var gateBias: [Float]?
        public var upBias: [Float]?
        public var downBias: [Float]?
    }

    public let file: GGUFFile
    public var tokenEmbedding: WeightMatrix
    public var outputNorm: [Float]
    /// `output.weight`, or `token_embd.weight` when the file ties the two (no `output.weight`).
    public var output: WeightMatrix
    public var outputBias: [Float]?
    /// Whether `output` is the token embedding.
    public var tiedOutput: Bool
    /// llama 3 `rope_freqs.weight`: per-pair divisors of the rotary angle.
    public var ropeFrequencyFactors: [Float]?
    public var layers: [Layer]

    /// Binds every tensor the configuration calls for, checking names, shapes and types.
    ///
    /// Throws `GGUFLoadError` naming the tensor and the shape it should have when one is missing,
    /// mis-shaped, or stored in a type the kernels cannot multiply.
    public init(file: GGUFFile, configuration c: TransformerConfiguration) throws {
        let bind = TensorBinder(file: file)
        let dim = c.embeddingLength
        self.file = file
        tokenEmbedding = try bind.matrix("token_embd.weight", columns: dim, rows: c.vocabularySize)
        outputNorm = try bind.vector("output_norm.weight", length: dim)
        if let output = try bind.optionalMatrix("output.weight", columns: dim, rows: c.vocabularySize) {
            self.output = output
            tiedOutput = false
        } else {
            self.output = tokenEmbedding
            tiedOutput = true
        }
        outputBias = try bind.optionalVector("output.bias", length: c.vocabularySize)
        ropeFrequencyFactors = try bind.optionalVector("rope_freqs.weight", length: c.ropeDimensionCount / 2)
        layers = try (0..<c.blockCount).map { try Self.layer($0, bind: bind, configuration: c) }
    }

    private static func layer(_ i: Int, bind: TensorBinder, configuration c: TransformerConfiguration) throws -> Layer {
        let dim = c.embeddingLength
        let p = "blk.\(i)."
        return Layer(
            attentionNorm: try bind.vector(p + "attn_norm.weight", length: dim),
            query: try bind.matrix(p + "attn_q.weight", columns: dim, rows: c.queryDimension),
            key: try bind.matrix(p + "attn_k.weight", columns: dim, rows: c.kvDimension),
            value: try bind.matrix(p + "attn_v.weight", columns: dim, rows: c.kvDimension),
            attentionOutput: try bind.matrix(p + "attn_output.weight", columns: c.queryDimension, rows: dim),
            queryBias: try bind.optionalVector(p + "attn_q.bias", length: c.queryDimension),
            keyBias: try bind.optionalVector(p + "attn_k.bias", length: c.kvDimension),
            valueBias: try bind.optionalVector(p + "attn_v.bias", length: c.kvDimension),
            attentionOutputBias: try bind.optionalVector(p + "attn_output.bias", length: dim),
            feedForwardNorm: try bind.vector(p + "ffn_norm.weight", length: dim),
            gate: try bind.matrix(p + "ffn_gate.weight", columns: dim, rows: c.feedForwardLength),
            up: try bind.matrix(p + "ffn_up.weight", columns: dim, rows: c.feedForwardLength),
            down: try bind.matrix(p + "ffn_down.weight", columns: c.feedForwardLength, rows: dim),
            gateBias: try bind.optionalVector(p + "ffn_gate.bias", length: c.feedForwardLength),
            upBias: try bind.optionalVector(p + "ffn_up.bias", length: c.feedForwardLength),
            downBias: try bind.optionalVector(p + "ffn_down.bias", length: dim)
        )
    }
}
