import Foundation

/// Chooses each next token of one sequence, in the order of llama.cpp's default sampler chain:
/// penalties, top-k, top-p, min-p, temperature, then one draw from what is left.
///
/// One sampler per sequence: it owns the sequence's seeded generator and its scratch buffers, so a
/// sequence's tokens depend only on its seed and its logits, never on what else is in the batch.
public struct TokenSampler: Sendable {
    public let parameters: SamplingParameters
    var random: Xoshiro256StarStar
    /// The tokens still in the running; sorted best-first whenever `candidatesSorted` says so.
    var candidates: [SamplingCandidate] = []
    var candidatesSorted = false
    /// Scratch for counting the tokens in the penalty window.
    var windowScratch: [Int32] = []
    /// Scratch for top-p over the whole vocabulary: each token's weight and each logit bucket's mass.
    var weights: [Float] = []
    var bucketMass: [Double] = []

    public init(parameters: SamplingParameters) {
        self.parameters = parameters
        var system = SystemRandomNumberGenerator()
        random = Xoshiro256StarStar(seed: parameters.seed ?? system.next())
    }

    /// Picks the next token. `logits` may be modified in place (scratch); `history` is the sequence's tokens so far
    /// (prompt + generated) for the penalties.
    ///
    /// Every non-greedy call draws exactly one number from the generator, whatever the filters keep, so
    /// a seed fixes the whole sequence of draws. Greedy calls draw nothing.
    public mutating func sample(logits: UnsafeMutableBufferPointer<Float>, history: ArraySlice<Int32>) -> Int32 {
        precondition(!logits.isEmpty, "sampling needs at least one logit")
        if parameters.hasPenalties {
            applyPenalties(to: logits, history: history)
        }
        if parameters.isGreedy {
            return Self.argmax(UnsafeBufferPointer(logits))
        }
        let unit = random.nextUnit()
        if !(parameters.topK > 0 && parameters.topK < logits.count) && !(parameters.topP < 1) {
            // Nothing needs ranking: draw straight from the vocabulary (same result as `truncate` + `draw`).
            return drawFromVocabulary(logits, unit: unit)
        }
        truncate(UnsafeBufferPointer(logits))
        return draw(unit: unit)
    }

    /// Leaves in `candidates` the tokens that top-k, then top-p, then min-p keep.
    mutating func truncate(_ logits: UnsafeBufferPointer<Float>) {
        let k = parameters.topK
        if k > 0 && k < logits.count {
            selectTopK(from: logits, k: k)
            if parameters.topP < 1 { keepTopP(parameters.topP) }
        } else if parameters.topP < 1 {
            selectTopP(from: logits, p: parameters.topP)
        } else {
            selectAll(from: logits, floor: -.infinity)
        }
        if parameters.minP > 0 { keepMinP(parameters.minP) }
    }

    /// The highest logit; the lowest id among equal ones (llama.cpp's greedy sampler). NaNs are skipped;
    /// with no number above -infinity it is token 0.
    static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        let top = SamplingMath.maximum(logits)
        guard top > -.infinity else { return 0 }
        var i = 0
        while logits[i] != top { i += 1 }
        return Int32(i)
    }

    /// Draws from the softmax of the remaining candidates' logits divided by the temperature.
    mutating func draw(unit: Double) -> Int32 {
        guard candidates.count > 1 else { return candidates[0].id }
        let top = candidates.reduce(-Float.infinity) { max($0, $1.logit) }
        let scale = 1 / parameters.temperature
        guard top.isFinite, scale.isFinite else { return best() }
        var total = 0.0
        for candidate in candidates {
            total += Double(SamplingMath.exp((candidate.logit - top) * scale))
        }
        let target = unit * total
        var cumulative = 0.0
        var last = candidates[0].id
        for candidate in candidates {
            let weight = SamplingMath.exp((candidate.logit - top) * scale)
            guard weight > 0 else { continue }
            cumulative += Double(weight)
            if cumulative > target {
                return candidate.id
            }
            last = candidate.id
        }
        // Only rounding gets here (target within an ulp of the total): the last token with any weight.
        return last
    }

    /// `draw` over the whole vocabulary with min-p as a logit floor, without building candidates: the
    /// weights overwrite the logits (they are scratch) and are summed in id order, as `selectAll` lists
    /// them, so both give the same token for the same number.
    mutating func drawFromVocabulary(_ logits: UnsafeMutableBufferPointer<Float>, unit: Double) -> Int32 {
        let top = SamplingMath.maximum(UnsafeBufferPointer(logits))
        let scale = 1 / parameters.temperature
        guard top.isFinite, scale.isFinite else { return Self.argmax(UnsafeBufferPointer(logits)) }
        let floor = parameters.minP > 0 ? top + min(0, log(parameters.minP)) : -.infinity
        let total = SamplingMath.exponentials(
            of: UnsafeBufferPointer(logits),
            into: logits,
            shift: top,
            scale: scale,
            floor: floor
        )
        let target = unit * total
        var cumulative = 0.0
        var last = 0
        for i in logits.indices where logits[i] > 0 {
            cumulative += Double(logits[i])
            if cumulative > target {
                return Int32(i)
            }
            last = i
        }
        return Int32(last)
    }

    /// The best-ranked candidate, for distributions with no finite logit to normalise by.
    func best() -> Int32 {
        var winner = candidates[0]
        for candidate in candidates.dropFirst() where candidate.ranksAbove(winner) {
            winner = candidate
        }
        return winner.id
    }
}
