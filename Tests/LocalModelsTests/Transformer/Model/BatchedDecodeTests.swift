import Testing

@testable import LocalModels

/// A decode step of several sequences in one pass (one matrix-matrix product per weight, the
/// output head shared, attention per kv head group) gives each sequence the very bits it gets
/// decoding alone (one matrix-vector product per weight), for every weight type of the committed
/// fixtures: the kernels keep one accumulator per (row, token) whatever the tile, and every other
/// step is row by row. So greedy output does not depend on what else is in the batch.
@Suite struct BatchedDecodeTests {
    static let pool = EngineThreadPool(threads: 2, idleSpinNanoseconds: 0)

    @Test(arguments: ModelFixtures.all)
    func aBatchedDecodeStepGivesEachSequenceItsBitsAlone(_ fixture: ModelFixtures.Model) throws {
        let model = try TransformerModel(file: GGUFFile(path: fixture.path), pool: Self.pool, chunkSize: 64)
        let cache = try model.makeCache(maxBytes: 1 << 23, storage: .f16)
        let prompts = fixture.prompts.map(\.tokens) + [[7] + fixture.prompts[0].tokens]
        let steps = 6

        func argmax(_ logits: ArraySlice<Float>) -> Int32 {
            Int32(logits.indices.max { logits[$0] < logits[$1] }! - logits.startIndex)
        }

        // Alone: prefill, then one token at a time.
        var aloneLogits: [[UInt32]] = []
        for prompt in prompts {
            let sequence = cache.makeSequence()
            var logits = try model.evaluate(tokens: prompt, sequence: sequence, logits: .last)
            var bits = logits.map(\.bitPattern)
            for _ in 0..<steps {
                logits = try model.evaluate(tokens: [argmax(logits[...])], sequence: sequence, logits: .last)
                bits += logits.map(\.bitPattern)
            }
            aloneLogits.append(bits)
        }

        // Together: the same prefills, then every decode step in one batch; the third step also
        // carries a prefill chunk of another sequence (a joining request).
        let sequences = prompts.map { _ in cache.makeSequence() }
        var last: [[Float]] = []
        for (prompt, sequence) in zip(prompts, sequences) {
            last.append(try model.evaluate(tokens: prompt, sequence: sequence, logits: .last))
        }
        var batchedLogits = last.map { $0.map(\.bitPattern) }
        let joining = cache.makeSequence()
        for step in 0..<steps {
            var batch = zip(sequences, last).map { sequence, logits in
                TransformerBatchEntry(sequence: sequence, tokens: [argmax(logits[...])], logits: .last)
            }
            if step == 2 { batch.append(TransformerBatchEntry(sequence: joining, tokens: prompts[2], logits: .last)) }
            let results = try model.evaluate(batch: batch)
            last = Array(results.prefix(sequences.count))
            for i in sequences.indices { batchedLogits[i] += last[i].map(\.bitPattern) }
        }
        for i in prompts.indices {
            #expect(batchedLogits[i] == aloneLogits[i], "sequence \(i) of \(fixture.file)")
        }
    }
}
