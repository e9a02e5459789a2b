import Testing

@testable import LocalModels

private typealias Support = SamplingTestSupport

struct TokenSamplerTests {
    // MARK: - Greedy

    @Test func greedyTakesTheHighestLogitAndTheLowestIdOnTies() {
        var sampler = TokenSampler(parameters: SamplingParameters(temperature: 0))
        #expect(Support.sample(&sampler, [0.1, 2, -1, 2, 0.5]) == 1)
        #expect(Support.sample(&sampler, [-3, -1, -2]) == 1)
        #expect(Support.sample(&sampler, [.nan, -.infinity, 0.5, .nan]) == 2)
        #expect(Support.sample(&sampler, [-.infinity, -.infinity]) == 0)
    }

    @Test func greedyIgnoresTheSeedAndMatchesArgmaxOnRandomLogits() {
        var first = TokenSampler(parameters: SamplingParameters(temperature: 0, seed: 1))
        var second = TokenSampler(parameters: SamplingParameters(temperature: -1, seed: 2))
        for round in 0..<20 {
            let logits = Support.randomLogits(count: 500, seed: UInt64(round))
            let best = Int32(argmax(logits[...]))
            #expect(Support.sample(&first, logits) == best)
            #expect(Support.sample(&second, logits) == best)
        }
        #expect(SamplingParameters(temperature: 0).isGreedy)
        #expect(!SamplingParameters(temperature: 0.01).isGreedy)
    }

    @Test func topKOfOneIsGreedy() {
        var sampler = TokenSampler(parameters: SamplingParameters(temperature: 1.5, topK: 1, seed: 9))
        for round in 0..<30 {
            let logits = Support.randomLogits(count: 300, seed: 100 + UInt64(round))
            #expect(Support.sample(&sampler, logits) == TokenSampler.argmax(logits.withUnsafeBufferPointer { $0 }))
        }
    }

    // MARK: - Seeds

    private func sequence(_ parameters: SamplingParameters, length: Int = 200) -> [Int32] {
        var sampler = TokenSampler(parameters: parameters)
        let logits = Support.randomLogits(count: 1000, scale: 1.5, seed: 5)
        return (0..<length).map { step in
            // Vary the logits per step, the way a model would, without depending on the drawn tokens.
            var shifted = logits
            shifted[step % logits.count] += 3
            return Support.sample(&sampler, shifted)
        }
    }

    @Test func theSameSeedGivesTheSameTokens() {
        let parameters = SamplingParameters(temperature: 0.8, topK: 50, topP: 0.95, minP: 0.01, seed: 42)
        let first = sequence(parameters)
        #expect(first == sequence(parameters))
        #expect(Set(first).count > 20)  // a real draw, not a constant
    }

    @Test func differentSeedsGiveDifferentTokens() {
        var parameters = SamplingParameters(temperature: 1, seed: 42)
        let first = sequence(parameters)
        parameters.seed = 43
        let second = sequence(parameters)
        let same = zip(first, second).filter { $0 == $1 }.count
        #expect(same < first.count / 4)
        // No seed: a fresh one per sampler.
        #expect(sequence(SamplingParameters()) != sequence(SamplingParameters()))
    }

    // MARK: - Distributions (fixed seeds, 5-sigma bounds)

    @Test func drawsFollowTheSoftmaxAtTheTemperature() {
        let logits = Support.randomLogits(count: 12, scale: 1, seed: 11)
        for temperature in [0.5, 1, 2] as [Float] {
            let parameters = SamplingParameters(temperature: temperature, seed: 3)
            let counts = Support.counts(parameters, logits, draws: 8000)
            let expected = Support.softmax(logits, temperature: Double(temperature))
            let chi = Support.chiSquare(counts, expected)
            #expect(Support.fits(counts, expected), "temperature \(temperature): \(chi)")
        }
    }

    @Test func topKDrawsOnlyTheKBestInProportion() {
        let logits = Support.randomLogits(count: 40, scale: 1, seed: 12)
        let counts = Support.counts(SamplingParameters(topK: 4, seed: 4), logits, draws: 6000)
        let best = Set(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(4))
        var kept = Support.softmax(logits)
        for i in kept.indices where !best.contains(i) { kept[i] = 0 }
        let total = kept.reduce(0, +)
        kept = kept.map { $0 / total }
        for i in logits.indices {
            #expect(best.contains(i) ? counts[i] > 0 : counts[i] == 0, "token \(i): \(counts[i])")
        }
        #expect(Support.fits(counts, kept))
    }

    @Test func topPKeepsTheSmallestSetThatReachesP() {
        let logits = Support.logits(forProbabilities: [0.05, 0.5, 0.15, 0.3])
        // 0.5 + 0.3 = 0.8 >= 0.75: tokens 1 and 3 stay, renormalised to 5:3.
        let counts = Support.counts(SamplingParameters(topP: 0.75, seed: 5), logits, draws: 4000)
        #expect(counts[0] == 0 && counts[2] == 0)
        #expect(Support.fits(counts, [0, 0.625, 0, 0.375]))
        // 0.5 alone does not reach 0.55; the token that crosses it is kept too.
        let crossing = Support.counts(SamplingParameters(topP: 0.55, seed: 5), logits, draws: 2000)
        #expect(crossing[1] > 0 && crossing[3] > 0 && crossing[0] == 0 && crossing[2] == 0)
        // p so small that only the best token is left.
        let tiny = Support.counts(SamplingParameters(topP: 0.01, seed: 5), logits, draws: 200)
        #expect(tiny[1] == 200)
    }

    @Test func minPDropsTokensBelowAFractionOfTheBest() {
        let logits = Support.logits(forProbabilities: [0.4, 0.05, 0.3, 0.09, 0.16])
        // 0.25 * 0.4 = 0.1: 0.05 and 0.09 go.
        let counts = Support.counts(SamplingParameters(minP: 0.25, seed: 6), logits, draws: 4000)
        #expect(counts[1] == 0 && counts[3] == 0)
        #expect(Support.fits(counts, [0.4 / 0.86, 0, 0.3 / 0.86, 0, 0.16 / 0.86]))
        // min-p of 1 keeps only the best token.
        #expect(Support.counts(SamplingParameters(minP: 1, seed: 6), logits, draws: 100)[0] == 100)
    }

    @Test func filtersApplyInLlamaCppOrder() {
        // top-p before min-p: with p = 0.6, top-p keeps {0.4, 0.3}; min-p 0.8 of 0.4 then keeps 0.4 only.
        let logits = Support.logits(forProbabilities: [0.4, 0.05, 0.3, 0.09, 0.16])
        let counts = Support.counts(SamplingParameters(topP: 0.6, minP: 0.8, seed: 7), logits, draws: 300)
        #expect(counts[0] == 300)
        // min-p works on the probabilities before temperature: a high temperature does not let 0.05 back in.
        let hot = Support.counts(SamplingParameters(temperature: 5, minP: 0.25, seed: 7), logits, draws: 2000)
        #expect(hot[1] == 0 && hot[3] == 0 && hot[0] > 0 && hot[2] > 0 && hot[4] > 0)
    }

    @Test func topPOverTheVocabularyEqualsAFullSort() {
        let cases: [(p: Float, scale: Float)] = [(0.5, 3), (0.9, 3), (0.99, 3), (0.999, 8), (0.9, 0.1), (0.3, 20)]
        for (round, (p, scale)) in cases.enumerated() {
            var logits = Support.randomLogits(count: 8_000, scale: scale, seed: 200 + UInt64(round))
            logits[17] = -.infinity
            logits[18] = logits[19]  // a tie
            var sampler = TokenSampler(parameters: SamplingParameters(topP: p, seed: 1))
            logits.withUnsafeBufferPointer { sampler.truncate($0) }
            // Reference: sort everything, accumulate in Double.
            let probabilities = Support.softmax(logits)
            let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            var cumulative = 0.0
            var expected: [Int32] = []
            for i in order {
                expected.append(Int32(i))
                cumulative += probabilities[i]
                if cumulative >= Double(p) { break }
            }
            let kept = sampler.candidates.map(\.id).sorted()
            #expect(kept == expected.sorted(), "p \(p), scale \(scale): \(kept.count) vs \(expected.count)")
        }
    }

    @Test func drawingFromTheVocabularyEqualsDrawingFromCandidates() {
        // The fast path (no top-k, no top-p) must pick what truncate + draw picks for the same number.
        let logits = Support.randomLogits(count: 3_000, scale: 2, seed: 77)
        for (round, minP) in ([0, 0.05, 0.3] as [Float]).enumerated() {
            var sampler = TokenSampler(parameters: SamplingParameters(temperature: 0.7, minP: minP, seed: 1))
            for step in 0..<50 {
                let unit = Double(step) / 50 + 0.003 * Double(round)
                var scratch = logits
                let fast = scratch.withUnsafeMutableBufferPointer { sampler.drawFromVocabulary($0, unit: unit) }
                logits.withUnsafeBufferPointer { sampler.truncate($0) }
                #expect(fast == sampler.draw(unit: unit), "min-p \(minP), unit \(unit)")
            }
        }
    }

    // MARK: - Penalties

    @Test func penaltiesChangeOnlyTheTokensInTheWindow() {
        let parameters = SamplingParameters(
            temperature: 0,
            repetitionPenalty: 2,
            frequencyPenalty: 0.5,
            presencePenalty: 0.25,
            penaltyWindow: 4
        )
        var sampler = TokenSampler(parameters: parameters)
        var logits: [Float] = [1, -1, 3, -2, 0.5, 4]
        // Token 5 is older than the window; token 2 occurs twice in it; 9 is outside the vocabulary.
        let history: [Int32] = [5, 2, 1, 2, 9]
        logits.withUnsafeMutableBufferPointer { sampler.applyPenalties(to: $0, history: history[...]) }
        let negative: Float = -1 * 2 - (1 * 0.5 + 0.25)  // multiplied by the repetition penalty
        let positive: Float = 3 / 2 - (2 * 0.5 + 0.25)  // divided by it; the frequency counts twice
        #expect(logits == [1, negative, positive, -2, 0.5, 4])
    }

    @Test func penaltyWindowZeroIsOffAndNegativeCoversTheWholeHistory() {
        var logits: [Float] = [2, 2, 2]
        let history: [Int32] = [0, 0, 0, 1]
        var off = TokenSampler(parameters: SamplingParameters(temperature: 0, frequencyPenalty: 1, penaltyWindow: 0))
        #expect(Support.sample(&off, [2, 1.5, 0], history: history) == 0)
        var on = TokenSampler(parameters: SamplingParameters(temperature: 0, frequencyPenalty: 1, penaltyWindow: 3))
        #expect(Support.sample(&on, [2, 1.5, 0], history: history) == 1)
        var whole = TokenSampler(parameters: SamplingParameters(frequencyPenalty: 1, penaltyWindow: -1))
        logits.withUnsafeMutableBufferPointer { whole.applyPenalties(to: $0, history: history[...]) }
        #expect(logits == [-1, 1, 2])
    }

    @Test func greedyDecodingAvoidsARepeatedTokenUnderPenalty() {
        let logits: [Float] = [0, 3, 2.5, 1]
        var plain = TokenSampler(parameters: SamplingParameters(temperature: 0))
        var penalised = TokenSampler(parameters: SamplingParameters(temperature: 0, repetitionPenalty: 1.3))
        #expect(Support.sample(&plain, logits, history: [1]) == 1)
        #expect(Support.sample(&penalised, logits, history: [1]) == 2)  // 3 / 1.3 < 2.5
        #expect(Support.sample(&penalised, logits, history: [7, 3]) == 1)
    }
}
