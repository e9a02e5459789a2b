import Foundation
import Testing

@testable import LocalModels

struct LogProbabilitiesTests {
    @Test(arguments: [8, 300, 151_936])
    func matchAFloat64LogSoftmaxAndSumToOne(vocabulary: Int) {
        let logits = SamplingTestSupport.randomLogits(count: vocabulary, scale: 4, seed: UInt64(vocabulary))
        let reference = SamplingTestSupport.logSoftmax(logits)  // in float64, the reference
        let token = Int32(vocabulary / 3)
        let result = logits.withUnsafeBufferPointer { LogProbabilities.of(token: token, logits: $0, top: 5) }
        #expect(result.token == token)
        #expect(abs(Double(result.logProbability) - reference[Int(token)]) <= 1e-6 * max(1, abs(reference[Int(token)])))
        // The five best: in a big vocabulary sort only the logits above 1 (sorting 150k indices is slow in
        // a debug build; thousands of the 4-sigma-scaled logits are above 1).
        let high = vocabulary > 1000 ? logits.indices.filter { logits[$0] > 1 } : Array(logits.indices)
        let order = high.sorted { reference[$0] > reference[$1] || (reference[$0] == reference[$1] && $0 < $1) }
            .prefix(5)
        #expect(result.top.map(\.token) == order.map { Int32($0) })
        for alternative in result.top {
            #expect(abs(Double(alternative.logProbability) - reference[Int(alternative.token)]) < 1e-5)
        }
        // Every token's probability, from this function, adds up to one (quadratic: small vocabularies only).
        guard vocabulary <= 300 else { return }
        let total = logits.withUnsafeBufferPointer { buffer in
            buffer.indices.reduce(0.0) { sum, i in
                sum + exp(Double(LogProbabilities.of(token: Int32(i), logits: buffer, top: 0).logProbability))
            }
        }
        #expect(abs(total - 1) < 1e-5)
    }

    @Test func theSumOverTheWholeVocabularyIsOneThroughTheNormaliser() {
        let logits = SamplingTestSupport.randomLogits(count: 151_936, scale: 4, seed: 3)
        let (top, logSum) = logits.withUnsafeBufferPointer { LogProbabilities.normaliser($0) }
        // Exact float64 exponentials against the normaliser (Float exp inside): within a Float's precision.
        let total = logits.reduce(0.0) { $0 + exp(Double($1) - top - logSum) }
        #expect(abs(total - 1) < 1e-7)
    }

    @Test func tiesAndTheTopCountAreHandled() {
        let logits: [Float] = [1, 3, 3, -.infinity, 2, .nan]
        let result = logits.withUnsafeBufferPointer { LogProbabilities.of(token: 3, logits: $0, top: 10) }
        // NaN never appears in the alternatives; equal logits keep the lower id first.
        #expect(result.top.map(\.token) == [1, 2, 4, 0, 3])
        #expect(result.logProbability == -.infinity)
        #expect(result.top[0].logProbability == result.top[1].logProbability)
        let none = logits.withUnsafeBufferPointer { LogProbabilities.of(token: 1, logits: $0, top: 0) }
        #expect(none.top.isEmpty)
    }

    @Test func logitsOfAnyMagnitudeStayFinite() {
        let logits: [Float] = [1e30, 1e30, -1e30]
        let result = logits.withUnsafeBufferPointer { LogProbabilities.of(token: 0, logits: $0, top: 2) }
        #expect(result.logProbability.isFinite)
        #expect(abs(result.logProbability - Float(-log(2.0))) < 1e-6)
    }
}
