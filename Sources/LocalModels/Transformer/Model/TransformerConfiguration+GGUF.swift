extension TransformerConfiguration {
    /// Reads the configuration of a llama or qwen2 GGUF file.
    ///
    /// Throws `GGUFLoadError` naming the metadata key for a missing or inconsistent value, and for
    /// any architecture or rope scaling this engine does not run.
    public init(gguf file: GGUFFile) throws {
        let reader = MetadataReader(file: file)
        let name = file.architecture ?? ""
        guard let architecture = Architecture(rawValue: name) else {
            let known = Architecture.allCases.map(\.rawValue).joined(separator: ", ")
            throw GGUFLoadError(
                file: file.path,
                part: "metadata key general.architecture",
                reason: "unsupported architecture \(name.isEmpty ? "(none)" : name) (\(known))"
            )
        }
        let arch = name
        let embedding = try reader.positive("\(arch).embedding_length")
        let blocks = try reader.positive("\(arch).block_count")
        let heads = try reader.perLayer("\(arch).attention.head_count", layers: blocks)
        let kvHeads = try reader.perLayer("\(arch).attention.head_count_kv", layers: blocks, default: heads)
        let feedForward = try reader.perLayer("\(arch).feed_forward_length", layers: blocks)
        guard heads % kvHeads == 0 else {
            throw reader.error(
                "\(arch).attention.head_count_kv",
                "\(kvHeads) kv heads do not divide \(heads) query heads"
            )
        }
        let headDimension = try reader.positive("\(arch).attention.key_length", default: embedding / heads)
        let valueLength = try reader.positive("\(arch).attention.value_length", default: embedding / heads)
        guard valueLength == headDimension else {
            throw reader.error(
                "\(arch).attention.value_length",
                "value heads of \(valueLength) differ from key heads of \(headDimension): unsupported"
            )
        }
        let ropeDimensions = try reader.positive("\(arch).rope.dimension_count", default: headDimension)
        guard ropeDimensions <= headDimension, ropeDimensions % 2 == 0 else {
            throw reader.error(
                "\(arch).rope.dimension_count",
                "\(ropeDimensions) must be even and at most the head dimension \(headDimension)"
            )
        }
        let epsilon = try reader.float("\(arch).attention.layer_norm_rms_epsilon")
        guard let epsilon, epsilon > 0 else {
            throw reader.error("\(arch).attention.layer_norm_rms_epsilon", "missing or not positive")
        }
        let base = try reader.float("\(arch).rope.freq_base") ?? 10000
        let scalingType = file.string("\(arch).rope.scaling.type") ?? "linear"
        var frequencyScale: Float = 1
        switch scalingType {
        case "none":
            break
        case "linear":
            let factor =
                try reader.float("\(arch).rope.scaling.factor") ?? reader.float("\(arch).rope.scale_linear") ?? 0
            guard factor >= 0 else { throw reader.error("\(arch).rope.scaling.factor", "negative factor \(factor)") }
            frequencyScale = factor == 0 ? 1 : 1 / factor
        default:
            throw reader.error("\(arch).rope.scaling.type", "unsupported rope scaling \(scalingType) (none, linear)")
        }
        let attentionFactor = try reader.float("\(arch).rope.scaling.attn_factor") ?? 1
        let context = try reader.positive("\(arch).context_length")

        self.init(
            architecture: architecture,
            contextLength: context,
            embeddingLength: embedding,
            blockCount: blocks,
            feedForwardLength: feedForward,
            headCount: heads,
            kvHeadCount: kvHeads,
            headDimension: headDimension,
            rmsEpsilon: epsilon,
            ropeFrequencyBase: base,
            ropeDimensionCount: ropeDimensions,
            ropeFrequencyScale: frequencyScale,
            ropeAttentionFactor: attentionFactor,
            vocabularySize: try Self.vocabularySize(file: file, arch: arch, reader: reader)
        )
    }

    /// The vocabulary size as llama.cpp finds it: `{arch}.vocab_size`, else the token table, else
    /// the rows of `token_embd.weight`.
    private static func vocabularySize(file: GGUFFile, arch: String, reader: MetadataReader) throws -> Int {
        if file.metadata["\(arch).vocab_size"] != nil {
            return try reader.positive("\(arch).vocab_size")
        }
        if let tokens = file.array("tokenizer.ggml.tokens"), tokens.count > 0 {
            return tokens.count
        }
        if let embedding = file.tensor(named: "token_embd.weight"), embedding.shape.count >= 2 {
            return embedding.shape[1]
        }
        throw GGUFLoadError(
            file: file.path,
            part: "metadata key tokenizer.ggml.tokens",
            reason: "no vocabulary size: no \(arch).vocab_size, token table or token_embd.weight"
        )
    }
}

/// Typed, checked reads of metadata values that name the key when they fail.
private struct MetadataReader {
    let file: GGUFFile

    func error(_ key: String, _ reason: String) -> GGUFLoadError {
        GGUFLoadError(file: file.path, part: "metadata key \(key)", reason: reason)
    }

    func positive(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let value = file.metadata[key] else {
            if let fallback, fallback > 0 { return fallback }
            throw error(key, "missing")
        }
        guard let n = value.integer, n > 0 else { throw error(key, "expected a positive integer, got \(value)") }
        return n
    }

    func float(_ key: String) throws -> Float? {
        guard let value = file.metadata[key] else { return nil }
        guard let d = value.double, d.isFinite else { throw error(key, "expected a number, got \(value)") }
        return Float(d)
    }

    /// A value llama.cpp allows per layer (`get_key_or_arr`); this engine needs it equal in every layer.
    func perLayer(_ key: String, layers: Int, default fallback: Int? = nil) throws -> Int {
        guard case .array(let array)? = file.metadata[key] else {
            return try positive(key, default: fallback)
        }
        guard let values = array.integers, values.count == layers, let first = values.first, first > 0 else {
            throw error(key, "expected a positive integer or one per layer (\(layers))")
        }
        guard values.allSatisfy({ $0 == first }) else {
            throw error(key, "values differ between layers: unsupported")
        }
        return first
    }
}
