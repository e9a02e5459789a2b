import Testing

@testable import LocalModels

@Suite struct TransformerModelTests {
    static let f32 = ModelFixtures.model("llama-mha-f32.gguf")
    /// GQA, NeoX rotary, q/k/v biases and a tied head in one file.
    static let qwen = ModelFixtures.model("qwen2-q8_0.gguf")

    private func load(
        _ model: ModelFixtures.Model,
        chunkSize: Int = 256,
        contextLength: Int? = nil,
        storage: KVCache.Storage = .f32,
        maxBytes: Int = 1 << 22
    ) throws -> (TransformerModel, KVCache) {
        let transformer = try TransformerModel(
            file: GGUFFile(path: model.path),
            pool: nil,
            chunkSize: chunkSize,
            contextLength: contextLength
        )
        return (transformer, try transformer.makeCache(maxBytes: maxBytes, storage: storage))
    }

    private func prompt(_ model: ModelFixtures.Model) -> [Int32] {
        model.prompts.max { $0.tokens.count < $1.tokens.count }!.tokens
    }

    @Test(arguments: [f32, qwen])
    func prefillInOneCallEqualsTokenByTokenDecode(_ model: ModelFixtures.Model) throws {
        let (transformer, cache) = try load(model)
        let tokens = prompt(model)
        let vocabulary = transformer.configuration.vocabularySize
        let prefill = try transformer.evaluate(tokens: tokens, sequence: cache.makeSequence(), logits: .all)
        let sequence = cache.makeSequence()
        for (p, token) in tokens.enumerated() {
            let row = try transformer.evaluate(tokens: [token], sequence: sequence, logits: .last)
            #expect(maxAbsDifference(row[...], prefill[p * vocabulary..<(p + 1) * vocabulary]) < 1e-4, "position \(p)")
        }
        #expect(sequence.count == tokens.count)

        let (chunked, chunkedCache) = try load(model, chunkSize: 7)
        let inChunks = try chunked.evaluate(tokens: tokens, sequence: chunkedCache.makeSequence(), logits: .all)
        #expect(maxAbsDifference(inChunks[...], prefill[...]) < 1e-4)
    }

    @Test(arguments: [f32, qwen])
    func interleavedSequencesMatchEachAlone(_ model: ModelFixtures.Model) throws {
        let (transformer, cache) = try load(model)
        let a = model.prompts[0].tokens
        let b = model.prompts[1].tokens
        let aloneA = try transformer.evaluate(tokens: a, sequence: cache.makeSequence(), logits: .all)
        let aloneB = try transformer.evaluate(tokens: b, sequence: cache.makeSequence(), logits: .all)

        let vocabulary = transformer.configuration.vocabularySize
        let sa = cache.makeSequence()
        let sb = cache.makeSequence()
        var mixedA: [Float] = []
        var mixedB: [Float] = []
        var i = 0
        while i < max(a.count, b.count) {  // pieces of 1, 2, 3, ... tokens, alternating
            let n = i % 5 + 1
            if i < a.count {
                mixedA += try transformer.evaluate(
                    tokens: Array(a[i..<min(i + n, a.count)]),
                    sequence: sa,
                    logits: .all
                )
            }
            if i < b.count {
                mixedB += try transformer.evaluate(
                    tokens: Array(b[i..<min(i + n, b.count)]),
                    sequence: sb,
                    logits: .all
                )
            }
            i += n
        }
        #expect(maxAbsDifference(mixedA[...], aloneA[...]) < 1e-4)
        #expect(maxAbsDifference(mixedB[...], aloneB[...]) < 1e-4)

        // Both in one batched pass (also split into 7-row chunks that straddle the two): each attends only
        // to its own positions.
        let (chunked, chunkedCache) = try load(model, chunkSize: 7)
        for (model, cache) in [(transformer, cache), (chunked, chunkedCache)] {
            let s1 = cache.makeSequence()
            let s2 = cache.makeSequence()
            let batched = try model.evaluate(batch: [
                TransformerBatchEntry(sequence: s1, tokens: a, logits: .all),
                TransformerBatchEntry(sequence: s2, tokens: b, logits: .last),
            ])
            #expect(maxAbsDifference(batched[0][...], aloneA[...]) < 1e-4)
            #expect(maxAbsDifference(batched[1][...], aloneB[((b.count - 1) * vocabulary)...]) < 1e-4)
            #expect(s1.count == a.count && s2.count == b.count)
        }
        let twice = #expect(throws: TransformerError.self) {
            try transformer.evaluate(batch: [
                TransformerBatchEntry(sequence: sa, tokens: [1]), TransformerBatchEntry(sequence: sa, tokens: [2]),
            ])
        }
        #expect(twice?.code == .invalidRequest)
    }

    /// Decoding and prefill on a pool (2 threads whose workers sleep after every run, or 3 spinning ones) give
    /// the bits of one thread, with an F32 and an F16 cache: the fused q/k/v and gate/up runs and the grouped
    /// decode attention split work differently with the thread count, never the arithmetic.
    @Test(arguments: [f32, qwen])
    func threadCountsGiveTheSameBits(_ model: ModelFixtures.Model) throws {
        let tokens = prompt(model)
        for storage in [KVCache.Storage.f32, .f16] {
            var runs: [[UInt32]] = []
            for pool in [nil, EngineThreadPool(threads: 2, idleSpinNanoseconds: 0), EngineThreadPool(threads: 3)] {
                let transformer = try TransformerModel(file: GGUFFile(path: model.path), pool: pool)
                let cache = try transformer.makeCache(maxBytes: 1 << 22, storage: storage)
                let sequence = cache.makeSequence()
                var logits = try transformer.evaluate(tokens: Array(tokens.prefix(5)), sequence: sequence, logits: .all)
                for token in tokens.dropFirst(5) {
                    logits += try transformer.evaluate(tokens: [token], sequence: sequence, logits: .last)
                }
                runs.append(logits.map(\.bitPattern))
            }
            #expect(runs[1] == runs[0], "\(storage) cache, 2 threads")
            #expect(runs[2] == runs[0], "\(storage) cache, 3 threads")
        }
    }

    @Test func aForkedPrefixContinuesLikeAFreshSequence() throws {
        let (transformer, cache) = try load(Self.qwen)
        let tokens = prompt(Self.qwen)
        let full = try transformer.evaluate(tokens: tokens, sequence: cache.makeSequence(), logits: .last)
        let other = Array(tokens.prefix(21)) + [7, 8, 9]
        let fresh = try transformer.evaluate(tokens: other, sequence: cache.makeSequence(), logits: .last)
        #expect(cache.blocksInUse == 0)

        let base = cache.makeSequence()
        _ = try transformer.evaluate(tokens: Array(tokens.prefix(30)), sequence: base, logits: .none)
        let used = cache.blocksInUse
        let branch = base.fork(prefix: 21)  // mid-block: the branch copies block 1 before writing
        #expect(cache.blocksInUse == used)
        let branchLogits = try transformer.evaluate(tokens: [7, 8, 9], sequence: branch, logits: .last)
        let baseLogits = try transformer.evaluate(tokens: Array(tokens.dropFirst(30)), sequence: base, logits: .last)
        #expect(maxAbsDifference(branchLogits[...], fresh[...]) < 1e-4)
        #expect(maxAbsDifference(baseLogits[...], full[...]) < 1e-4)
    }

    @Test func anF16CacheKeepsTheTopToken() throws {
        let (exact, exactCache) = try load(Self.f32)
        let (half, halfCache) = try load(Self.f32, storage: .f16)
        #expect(halfCache.blockBytes * 2 == exactCache.blockBytes)
        let vocabulary = exact.configuration.vocabularySize
        var worst: Float = 0
        for prompt in Self.f32.prompts {
            let a = try exact.evaluate(tokens: prompt.tokens, sequence: exactCache.makeSequence(), logits: .all)
            let b = try half.evaluate(tokens: prompt.tokens, sequence: halfCache.makeSequence(), logits: .all)
            worst = max(worst, maxAbsDifference(a[...], b[...]))
            for (p, margin) in prompt.topTwoMargins.enumerated() where margin > 0.05 {
                let row = p * vocabulary..<(p + 1) * vocabulary
                #expect(argmax(a[row]) == argmax(b[row]))
            }
        }
        print("F16 KV cache: max |logit - F32 cache| = \(worst)")
        #expect(worst < 0.03)
    }

    @Test func runningPastTheContextIsAnErrorAndChangesNothing() throws {
        let (transformer, cache) = try load(Self.f32, contextLength: 8)
        let sequence = cache.makeSequence()
        let error = #expect(throws: TransformerError.self) {
            try transformer.evaluate(tokens: Array(repeating: 5, count: 9), sequence: sequence)
        }
        #expect(error?.code == .contextOverflow)
        #expect(sequence.count == 0)
        #expect(cache.blocksInUse == 0)
        _ = try transformer.evaluate(tokens: Array(repeating: 5, count: 8), sequence: sequence)
        let again = #expect(throws: TransformerError.self) {
            try transformer.evaluate(tokens: [5], sequence: sequence)
        }
        #expect(again?.code == .contextOverflow)
        #expect(sequence.count == 8)

        let file = try GGUFFile(path: Self.f32.path)
        let (full, _) = try load(Self.f32)
        #expect(full.configuration.contextLength == file.integer("llama.context_length"))
    }

    @Test func aFullCacheAndABadTokenAreErrors() throws {
        let (transformer, probe) = try load(Self.f32)
        let (_, small) = try load(Self.f32, maxBytes: 2 * probe.blockBytes)
        let sequence = small.makeSequence()
        let full = #expect(throws: TransformerError.self) {
            try transformer.evaluate(tokens: Array(repeating: 3, count: 33), sequence: sequence)
        }
        #expect(full?.code == .cacheFull)
        #expect(small.bytesInUse == 0)
        _ = try transformer.evaluate(tokens: Array(repeating: 3, count: 32), sequence: sequence, logits: .none)
        #expect(small.bytesInUse == 2 * small.blockBytes)

        let bad = #expect(throws: TransformerError.self) {
            try transformer.evaluate(tokens: [1, 512], sequence: probe.makeSequence())
        }
        #expect(bad?.code == .invalidToken)
    }
}
