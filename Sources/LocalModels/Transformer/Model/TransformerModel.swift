import Synchronization

/// A llama or qwen2 decoder loaded from a GGUF file, evaluated sequence by sequence over a paged
/// `KVCache`, with logits that match llama.cpp's on the same file.
///
/// Tokens are evaluated in chunks of up to `chunkSize`: each projection of a chunk is one
/// `MatrixKernels.matMul` over all its tokens (one `matVec` for a single decoding token), and
/// attention runs per head on the pool. One model evaluates one batch at a time (the scratch
/// activations are the model's, behind a lock); several sequences go through one call as a batch.
public final class TransformerModel: @unchecked Sendable {
    public let configuration: TransformerConfiguration
    public let weights: TransformerWeights
    public let pool: EngineThreadPool?
    /// Most tokens in one forward pass; longer inputs run as several passes.
    public let chunkSize: Int

    let rotary: RotaryEmbedding
    let scratch: Mutex<TransformerScratch>

    /// Loads the configuration and binds every tensor of `file` (which stays mapped while the model lives).
    /// `contextLength`, when given, replaces the file's as the most positions a sequence may hold.
    ///
    /// Throws `GGUFLoadError` for an unsupported architecture, missing metadata, or a missing,
    /// mis-shaped or unsupported tensor.
    public init(file: GGUFFile, pool: EngineThreadPool?, chunkSize: Int = 256, contextLength: Int? = nil) throws {
        precondition(chunkSize > 0, "chunkSize must be positive")
        precondition((contextLength ?? 1) > 0, "contextLength must be positive")
        var configuration = try TransformerConfiguration(gguf: file)
        if let contextLength { configuration.contextLength = contextLength }
        self.configuration = configuration
        weights = try TransformerWeights(file: file, configuration: configuration)
        self.pool = pool
        self.chunkSize = chunkSize
        rotary = RotaryEmbedding(configuration: configuration, factors: weights.ropeFrequencyFactors)
        let threads = pool?.threadCount ?? 1
        let perHead = max(1, (2 * threads + configuration.headCount - 1) / configuration.headCount)
        scratch = Mutex(
            TransformerScratch(
                configuration: configuration,
                rows: chunkSize,
                taskSlots: configuration.headCount * perHead
            )
        )
    }

    /// A KV cache shaped for this model holding at most `maxBytes`.
    public func makeCache(maxBytes: Int, blockTokens: Int = 16, storage: KVCache.Storage = .f16) throws -> KVCache {
        try KVCache(
            layers: configuration.blockCount,
            kvHeads: configuration.kvHeadCount,
            headDimension: configuration.headDimension,
            blockTokens: blockTokens,
            storage: storage,
            maxBytes: maxBytes
        )
    }

    /// Appends `tokens` to `sequence` at its next positions and returns the requested logits
    /// (`vocabularySize` floats per requested position).
    ///
    /// Throws `TransformerError` (context overflow, cache full, token out of range) before
    /// changing the sequence.
    public func evaluate(tokens: [Int32], sequence: KVSequence, logits: LogitsRequest = .last) throws -> [Float] {
        try evaluate(batch: [TransformerBatchEntry(sequence: sequence, tokens: tokens, logits: logits)])[0]
    }

    /// Evaluates several sequences in one pass (continuous batching): the tokens of all entries
    /// share each matrix multiplication; each attends only to its own sequence.
    ///
    /// Returns one logits array per entry. All sequences must come from one cache and appear once.
    public func evaluate(batch: [TransformerBatchEntry]) throws -> [[Float]] {
        guard let cache = batch.first?.sequence.cache else { return [] }
        try validate(batch, cache: cache)
        try cache.reserve(batch.map(\.sequence), adding: batch.map(\.tokens.count))
        let results = scratch.withLock { scratch in
            forward(batch, cache: cache, scratch: scratch)
        }
        for entry in batch { entry.sequence.count += entry.tokens.count }
        return results
    }

    private func validate(_ batch: [TransformerBatchEntry], cache: KVCache) throws {
        guard cache.fits(configuration) else {
            let c = configuration
            throw TransformerError(
                .incompatibleCache,
                "cache of \(cache.layerCount) layers x \(cache.kvHeadCount) kv heads x \(cache.headDimension) for a "
                    + "model of \(c.blockCount) x \(c.kvHeadCount) x \(c.headDimension)"
            )
        }
        var seen = Set<ObjectIdentifier>()
        let vocabulary = Int32(configuration.vocabularySize)
        for entry in batch {
            guard entry.sequence.cache === cache else {
                throw TransformerError(.invalidRequest, "the sequences of one batch must share one cache")
            }
            guard seen.insert(ObjectIdentifier(entry.sequence)).inserted else {
                throw TransformerError(.invalidRequest, "a sequence appears twice in one batch")
            }
            let end = entry.sequence.count + entry.tokens.count
            guard end <= configuration.contextLength else {
                throw TransformerError(
                    .contextOverflow,
                    "\(entry.tokens.count) tokens after \(entry.sequence.count) need \(end) positions; "
                        + "the context holds \(configuration.contextLength)"
                )
            }
            if let bad = entry.tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
                throw TransformerError(.invalidToken, "token \(bad) is outside the vocabulary of \(vocabulary)")
            }
        }
    }
}
