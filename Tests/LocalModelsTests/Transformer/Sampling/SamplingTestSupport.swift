import Foundation

@testable import LocalModels

/// Logits and draw counting shared by the sampler tests; every random input comes from a fixed seed.
enum SamplingTestSupport {
    /// `count` normally distributed logits (Box-Muller on the sampler's own generator).
    static func randomLogits(count: Int, scale: Float = 2, seed: UInt64) -> [Float] {
        var random = Xoshiro256StarStar(seed: seed)
        return (0..<count).map { _ in
            let u = max(random.nextUnit(), 1e-300)
            let v = random.nextUnit()
            return Float(sqrt(-2 * log(u)) * cos(2 * Double.pi * v)) * scale
        }
    }

    /// Logits whose softmax is exactly proportional to `weights`.
    static func logits(forProbabilities weights: [Double]) -> [Float] {
        weights.map { Float(log($0)) }
    }

    /// Softmax of `logits / temperature` in Double.
    static func softmax(_ logits: [Float], temperature: Double = 1) -> [Double] {
        let top = Double(logits.max()!)
        let weights = logits.map { exp((Double($0) - top) / temperature) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    /// log-softmax of `logits` in Double.
    static func logSoftmax(_ logits: [Float]) -> [Double] {
        let top = Double(logits.max()!)
        let sum = logits.reduce(0.0) { $0 + exp(Double($1) - top) }
        return logits.map { Double($0) - top - log(sum) }
    }

    /// One sample from fresh copies of `logits` (the sampler may overwrite them).
    static func sample(_ sampler: inout TokenSampler, _ logits: [Float], history: [Int32] = []) -> Int32 {
        var scratch = logits
        return scratch.withUnsafeMutableBufferPointer { sampler.sample(logits: $0, history: history[...]) }
    }

    /// How often each token is drawn in `draws` samples.
    static func counts(_ parameters: SamplingParameters, _ logits: [Float], draws: Int) -> [Int] {
        var sampler = TokenSampler(parameters: parameters)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<draws {
            counts[Int(sample(&sampler, logits))] += 1
        }
        return counts
    }

    /// Pearson's chi-square statistic of observed counts against expected probabilities. Cells expected to
    /// hold fewer than 5 draws are pooled into one (the usual rule: the chi-square approximation needs it);
    /// cells with probability 0 are left out (the tests check them separately).
    static func chiSquare(_ counts: [Int], _ probabilities: [Double]) -> (statistic: Double, freedom: Int) {
        let draws = Double(counts.reduce(0, +))
        var statistic = 0.0
        var cells = 0
        var pooledObserved = 0.0
        var pooledExpected = 0.0
        for (count, p) in zip(counts, probabilities) where p > 0 {
            let expected = draws * p
            if expected < 5 {
                pooledObserved += Double(count)
                pooledExpected += expected
                continue
            }
            statistic += (Double(count) - expected) * (Double(count) - expected) / expected
            cells += 1
        }
        if pooledExpected > 0 {
            statistic += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / pooledExpected
            cells += 1
        }
        return (statistic, max(1, cells - 1))
    }

    /// Whether the draws are plausible under `probabilities`: chi-square below its mean plus five standard
    /// deviations. With fixed seeds the outcome is fixed; the wide bound keeps it from hinging on the seed.
    static func fits(_ counts: [Int], _ probabilities: [Double]) -> Bool {
        let (statistic, freedom) = chiSquare(counts, probabilities)
        return statistic < Double(freedom) + 5 * (2 * Double(freedom)).squareRoot()
    }
}
