import Testing

@testable import LocalModels

/// The forward pass against llama.cpp's logits and greedy continuations on the same files
/// (`Fixtures/transformer/models/manifest.json`), all with an F32 KV cache as the reference used.
@Suite struct TransformerModelReferenceTests {
    /// llama.cpp multiplies quantised weights by activations rounded to Q8 (F16/BF16 weights by F16/BF16
    /// activations); that rounding is a step function, so a sum taken in another order can put a value on the
    /// other side of a step and move later logits by a few hundredths. Bounds are max |logit - llama.cpp| over
    /// every position of every prompt (logits span about +-12), about three times what was measured with the
    /// kernels of this commit (Q4_0, Q4_1, Q5_K, Q6_K and the mixed Q4_K_M file: under 1e-5).
    static let bounds: [String: Float] = [
        "F16": 0.02, "BF16": 0.05, "Q8_0": 0.3, "Q4_0": 0.02, "Q4_1": 0.02, "Q5_0": 0.2,
        "Q4_K": 0.05, "Q5_K": 0.02, "Q6_K": 0.02,
    ]
    /// Below this top-2 margin llama.cpp's own choice is a coin toss under rounding; no comparison there.
    static let clearMargin: Float = 0.05

    static func load(_ model: ModelFixtures.Model) throws -> (TransformerModel, KVCache) {
        let transformer = try TransformerModel(file: GGUFFile(path: model.path), pool: nil)
        return (transformer, try transformer.makeCache(maxBytes: 1 << 22, storage: .f32))
    }

    @Test(arguments: ModelFixtures.f32)
    func f32LogitsMatchAtEveryPosition(_ model: ModelFixtures.Model) throws {
        let (transformer, cache) = try Self.load(model)
        var worst: Float = 0
        for prompt in model.prompts {
            let logits = try transformer.evaluate(tokens: prompt.tokens, sequence: cache.makeSequence(), logits: .all)
            let reference = try prompt.referenceLogits()
            #expect(logits.count == reference.count)
            worst = max(worst, maxAbsDifference(logits[...], reference[...]))
        }
        print("\(model.file): max |logit - llama.cpp| = \(worst)")
        #expect(worst < 1e-3)
    }

    @Test(arguments: ModelFixtures.quantised)
    func quantisedTopOneMatchesWhereTheMarginIsClear(_ model: ModelFixtures.Model) throws {
        let (transformer, cache) = try Self.load(model)
        let vocabulary = transformer.configuration.vocabularySize
        var worst: Float = 0
        var compared = 0
        for prompt in model.prompts {
            let logits = try transformer.evaluate(tokens: prompt.tokens, sequence: cache.makeSequence(), logits: .all)
            let reference = try prompt.referenceLogits()
            try #require(logits.count == reference.count)
            for (p, margin) in prompt.topTwoMargins.enumerated() {
                let row = p * vocabulary..<(p + 1) * vocabulary
                worst = max(worst, maxAbsDifference(logits[row], reference[row]))
                if margin > Self.clearMargin {
                    compared += 1
                    #expect(argmax(logits[row]) == argmax(reference[row]), "\(prompt.name) position \(p)")
                }
            }
        }
        let bound = try #require(Self.bounds[model.mainType])
        print("\(model.file) (\(model.mainType)): max |logit - llama.cpp| = \(worst), top-1 compared at \(compared)")
        #expect(compared > 0)
        #expect(worst < bound)
    }

    static var greedyModels: [ModelFixtures.Model] {
        ModelFixtures.all.filter { $0.isF32 || $0.llamaFileType == "MOSTLY_Q8_0" }
    }

    @Test(arguments: greedyModels)
    func greedyContinuationMatchesUpToTheFirstCloseCall(_ model: ModelFixtures.Model) throws {
        let (transformer, cache) = try Self.load(model)
        let prompt = try #require(model.greedyPrompt)
        let expected = try #require(prompt.greedyTokens)
        let margins = try #require(prompt.greedyMargins)
        let sequence = cache.makeSequence()
        var row = try transformer.evaluate(tokens: prompt.tokens, sequence: sequence, logits: .last)
        var matched = 0
        // F32 logits agree to ~1e-5, so every step is comparable unless llama.cpp saw a near tie.
        let threshold: Float = model.isF32 ? 1e-3 : Self.clearMargin
        for step in expected.indices {
            guard margins[step] >= threshold else { break }
            let token = Int32(argmax(row[...]))
            #expect(token == expected[step], "step \(step)")
            guard token == expected[step] else { break }
            matched += 1
            row = try transformer.evaluate(tokens: [token], sequence: sequence, logits: .last)
        }
        print("\(model.file): greedy matches llama.cpp for \(matched) of \(expected.count) steps")
        #expect(matched > 0)
        if model.isF32, margins.allSatisfy({ $0 >= threshold }) {
            #expect(matched == expected.count, "F32: all \(expected.count) greedy tokens")
        }
        #expect(sequence.count == prompt.tokens.count + matched)
    }
}
