/// Random choice among items in proportion to their weights.
///
/// The random source is injected so that tests can seed it; the gateway passes
/// `SystemRandomNumberGenerator`.
public struct WeightedPicker: Sendable, Hashable {
    /// The weights as given; non-positive and non-finite weights are never picked.
    public let weights: [Double]

    public init(weights: [Double]) {
        self.weights = weights
    }

    /// An index chosen with probability `weights[i] / sum`; `nil` when nothing can be picked.
    public func pick<R: RandomNumberGenerator>(using rng: inout R) -> Int? {
        Self.pick(weights, using: &rng)
    }

    /// All pickable indices: the first chosen by weight, then each next one by weight
    /// among those left. Heavier items tend to come first, lighter ones still get a turn.
    public func order<R: RandomNumberGenerator>(using rng: inout R) -> [Int] {
        var remaining = weights.map { Self.usable($0) ? $0 : 0 }
        var result: [Int] = []
        while let index = Self.pick(remaining, using: &rng) {
            result.append(index)
            remaining[index] = 0
        }
        return result
    }

    private static func usable(_ weight: Double) -> Bool { weight > 0 && weight.isFinite }

    private static func pick<R: RandomNumberGenerator>(_ weights: [Double], using rng: inout R) -> Int? {
        let total = weights.reduce(0) { usable($1) ? $0 + $1 : $0 }
        guard total > 0, total.isFinite else { return nil }
        let target = Double.random(in: 0..<total, using: &rng)
        var sum = 0.0
        var last: Int?
        for (index, weight) in weights.enumerated() where usable(weight) {
            sum += weight
            last = index
            if target < sum { return index }
        }
        // Rounding can leave `target` a hair above the running sum; the last item owns it.
        return last
    }
}
