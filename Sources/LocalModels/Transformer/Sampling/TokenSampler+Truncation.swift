import Foundation

extension TokenSampler {
    /// Every token whose logit is at least `floor`, in id order.
    mutating func selectAll(from logits: UnsafeBufferPointer<Float>, floor: Float) {
        candidates.removeAll(keepingCapacity: true)
        for i in logits.indices where logits[i] >= floor {
            candidates.append(SamplingCandidate(id: Int32(i), logit: logits[i]))
        }
        if candidates.isEmpty {  // all NaN: keep something drawable
            candidates.append(SamplingCandidate(id: Self.argmax(logits), logit: 0))
        }
        candidatesSorted = false
    }

    /// The `k` best logits (0 < k < vocabulary), sorted best-first, like llama.cpp's top-k sampler.
    mutating func selectTopK(from logits: UnsafeBufferPointer<Float>, k: Int) {
        candidates.removeAll(keepingCapacity: true)
        candidates.reserveCapacity(k)
        // A heap with the worst kept candidate on top: O(n log k), and most tokens fail one comparison
        // against a copy of the worst logit.
        var worst = -Float.infinity
        for i in logits.indices where !(logits[i] < worst) && !logits[i].isNaN {
            let candidate = SamplingCandidate(id: Int32(i), logit: logits[i])
            if candidates.count < k {
                candidates.append(candidate)
                siftUp(candidates.count - 1)
                if candidates.count == k { worst = candidates[0].logit }
            } else if candidate.ranksAbove(candidates[0]) {
                candidates[0] = candidate
                siftDown(0)
                worst = candidates[0].logit
            }
        }
        if candidates.isEmpty {
            candidates.append(SamplingCandidate(id: 0, logit: 0))
        }
        candidates.sort { $0.ranksAbove($1) }
        candidatesSorted = true
    }

    /// Top-p on sorted candidates: keeps the shortest best-first prefix whose probability (softmax at
    /// temperature 1) reaches `p`, including the token that crosses it, and at least one token.
    mutating func keepTopP(_ p: Float) {
        precondition(candidatesSorted, "top-p on candidates needs them sorted")
        guard candidates.count > 1 else { return }
        let top = candidates[0].logit
        guard top.isFinite else { return }
        var total = 0.0
        for candidate in candidates {
            total += Double(SamplingMath.exp(candidate.logit - top))
        }
        guard total.isFinite else { return }
        let target = Double(p) * total
        var cumulative = 0.0
        for i in candidates.indices {
            cumulative += Double(SamplingMath.exp(candidates[i].logit - top))
            if cumulative >= target {
                candidates.removeSubrange((i + 1)...)
                return
            }
        }
    }

    /// Top-p over the whole vocabulary without sorting it: the same set `keepTopP` keeps after a full sort.
    ///
    /// Logits go into 1024 buckets by distance from the best; every token in a bucket ranks above every
    /// token in later buckets, so the buckets before the one where the cumulative mass crosses `target` are
    /// kept whole and only the crossing bucket (about n / 1024 tokens) is sorted and walked. llama.cpp's
    /// top-p does the same with its bucket sort.
    mutating func selectTopP(from logits: UnsafeBufferPointer<Float>, p: Float) {
        var top = -Float.infinity
        var lowest = Float.infinity
        for logit in logits where logit > -.infinity {  // NaN fails both comparisons below
            if logit > top { top = logit }
            if logit < lowest { lowest = logit }
        }
        guard top.isFinite else {
            selectAll(from: logits, floor: -.infinity)
            return
        }
        if weights.count < logits.count {
            weights = [Float](repeating: 0, count: logits.count)
        }
        let total = weights.withUnsafeMutableBufferPointer {  // -inf and NaN weigh nothing
            SamplingMath.exponentials(of: logits, into: $0, shift: top, scale: 1, floor: -.infinity)
        }
        let target = Double(p) * total
        // Past 104 below the best, exp underflows to 0 in Float; lower logits share the last bucket.
        let bucketCount = 1024
        let span = min(top - lowest, 104)
        let perUnit = span > 0 ? Float(bucketCount) / span : 0
        func bucket(_ logit: Float) -> Int { min(bucketCount - 1, Int((top - logit) * perUnit)) }
        bucketMass.removeAll(keepingCapacity: true)
        bucketMass.append(contentsOf: repeatElement(0, count: bucketCount))
        for i in logits.indices where weights[i] > 0 {
            bucketMass[bucket(logits[i])] += Double(weights[i])
        }
        var crossing = bucketCount - 1
        var cumulative = 0.0
        for b in 0..<bucketCount {
            if cumulative + bucketMass[b] >= target {
                crossing = b
                break
            }
            cumulative += bucketMass[b]
        }
        candidates.removeAll(keepingCapacity: true)
        var head: [SamplingCandidate] = []
        for i in logits.indices where logits[i] >= lowest {
            let b = bucket(logits[i])
            if b < crossing {
                candidates.append(SamplingCandidate(id: Int32(i), logit: logits[i]))
            } else if b == crossing {
                head.append(SamplingCandidate(id: Int32(i), logit: logits[i]))
            }
        }
        head.sort { $0.ranksAbove($1) }
        for candidate in head {
            candidates.append(candidate)
            cumulative += Double(weights[Int(candidate.id)])
            if cumulative >= target { break }
        }
        candidatesSorted = false
    }

    /// Keeps the candidates whose probability is at least `p` times the best one's: on logits,
    /// `logit >= best + log(p)`, as llama.cpp's min-p sampler does. The best token always stays.
    mutating func keepMinP(_ p: Float) {
        guard candidates.count > 1 else { return }
        let top = candidates.reduce(-Float.infinity) { max($0, $1.logit) }
        guard top.isFinite else { return }
        let floor = top + min(0, log(p))
        candidates.removeAll { !($0.logit >= floor) }
    }

    // MARK: - Heap of the worst kept candidate

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard candidates[parent].ranksAbove(candidates[child]) else { return }
            candidates.swapAt(parent, child)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            guard left < candidates.count else { return }
            var worst = left
            let right = left + 1
            if right < candidates.count && candidates[worst].ranksAbove(candidates[right]) {
                worst = right
            }
            guard candidates[parent].ranksAbove(candidates[worst]) else { return }
            candidates.swapAt(parent, worst)
            parent = worst
        }
    }
}
