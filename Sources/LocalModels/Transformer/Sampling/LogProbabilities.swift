import Foundation

/// Log-probabilities as OpenAI reports them: the model's own distribution, not the sampler's.
public enum LogProbabilities {
    /// log-softmax of the raw logits (before penalties/temperature), for the OpenAI `logprobs`/`top_logprobs` fields.
    ///
    /// The normaliser is summed in Double, so the results are within a Float rounding of a float64
    /// log-softmax even over a 150k-token vocabulary. `top` (clamped to the vocabulary) names how many
    /// alternatives to return.
    public static func of(token: Int32, logits: UnsafeBufferPointer<Float>, top: Int) -> TokenLogProbability {
        precondition(token >= 0 && Int(token) < logits.count, "token \(token) outside a vocabulary of \(logits.count)")
        let (shift, logSum) = normaliser(logits)
        // (logit - max) - log(sum) rather than logit - (max + log(sum)): the latter loses log(sum) entirely
        // next to a logit of 1e30.
        func logProbability(_ i: Int) -> Float { Float((Double(logits[i]) - shift) - logSum) }
        let best = bestIndices(logits, count: min(max(0, top), logits.count))
        return TokenLogProbability(
            token: token,
            logProbability: logProbability(Int(token)),
            top: best.map { TokenAlternative(token: Int32($0), logProbability: logProbability($0)) }
        )
    }

    /// The largest logit and log(sum(exp(logit - largest))), so nothing overflows; NaNs are left out.
    static func normaliser(_ logits: UnsafeBufferPointer<Float>) -> (top: Double, logSum: Double) {
        let top = SamplingMath.maximum(logits)
        guard top.isFinite else { return (Double(top), 0) }
        // The sampler's exponentials (within an ulp of expf, four times faster over 150k logits) into scratch,
        // summed in Double: within 1e-7 of a float64 log-softmax. A NaN logit counts as impossible.
        let sum = withUnsafeTemporaryAllocation(of: Float.self, capacity: logits.count) { scratch in
            SamplingMath.exponentials(of: logits, into: scratch, shift: top, scale: 1, floor: -.infinity)
        }
        return (Double(top), log(sum))
    }

    /// Indices of the `count` highest logits, best first, lower index first on ties (NaNs never chosen).
    /// Insertion into a short sorted list: OpenAI allows at most 20, and most logits fail the first test.
    static func bestIndices(_ logits: UnsafeBufferPointer<Float>, count: Int) -> [Int] {
        guard count > 0 else { return [] }
        var best: [Int] = []
        best.reserveCapacity(count + 1)
        var threshold = -Float.infinity  // the worst kept logit once the list is full
        for i in logits.indices where !(logits[i] < threshold) && !logits[i].isNaN {
            if best.count == count && !(logits[i] > threshold) { continue }
            var slot = best.count
            while slot > 0 && logits[i] > logits[best[slot - 1]] { slot -= 1 }
            best.insert(i, at: slot)
            if best.count > count { best.removeLast() }
            if best.count == count { threshold = logits[best[count - 1]] }
        }
        return best
    }
}
