extension BertConfiguration {
    /// Reads the configuration of a `bert` GGUF file.
    ///
    /// Throws `GGUFLoadError` naming the metadata key for another architecture, a missing or inconsistent value,
    /// causal attention, or a pooling other than mean and CLS.
    public init(gguf file: GGUFFile) throws {
        func error(_ key: String, _ reason: String) -> GGUFLoadError {
            GGUFLoadError(file: file.path, part: "metadata key \(key)", reason: reason)
        }
        func positive(_ key: String) throws -> Int {
            guard let value = file.metadata[key] else { throw error(key, "missing") }
            guard let n = value.integer, n > 0 else { throw error(key, "expected a positive integer, got \(value)") }
            return n
        }
        let architecture = file.architecture ?? ""
        guard architecture == "bert" else {
            throw error(
                "general.architecture",
                "architecture \(architecture.isEmpty ? "(none)" : architecture) is not bert: not an embedding model"
            )
        }
        let embedding = try positive("bert.embedding_length")
        let heads = try positive("bert.attention.head_count")
        guard embedding % heads == 0 else {
            throw error("bert.attention.head_count", "\(heads) heads do not divide the embedding length \(embedding)")
        }
        let epsilonKey = "bert.attention.layer_norm_epsilon"
        guard let epsilon = file.double(epsilonKey) else { throw error(epsilonKey, "missing") }
        guard epsilon > 0, epsilon < 1 else { throw error(epsilonKey, "expected a small positive number, got \(epsilon)") }
        if let causal = file.metadata["bert.attention.causal"] {
            guard causal.bool == false else { throw error("bert.attention.causal", "causal attention is not a BERT encoder") }
        }
        var pooling = Pooling.mean
        if let value = file.metadata["bert.pooling_type"] {
            guard let raw = value.integer, let known = Pooling(rawValue: raw) else {
                throw error("bert.pooling_type", "pooling \(value) is not supported (1 = mean, 2 = cls)")
            }
            pooling = known
        }
        var maxInputTokens: Int?
        if let value = file.metadata["sentence_transformers.max_seq_length"] {
            guard let limit = value.integer, limit >= 2 else {
                throw error("sentence_transformers.max_seq_length", "expected a token count of at least 2, got \(value)")
            }
            maxInputTokens = limit
        }
        guard let tokens = file.array("tokenizer.ggml.tokens"), tokens.count > 0 else {
            throw error("tokenizer.ggml.tokens", "missing or empty")
        }
        self.init(
            contextLength: try positive("bert.context_length"),
            embeddingLength: embedding,
            blockCount: try positive("bert.block_count"),
            feedForwardLength: try positive("bert.feed_forward_length"),
            headCount: heads,
            layerNormEpsilon: Float(epsilon),
            vocabularySize: tokens.count,
            pooling: pooling,
            maxInputTokens: maxInputTokens
        )
    }
}
