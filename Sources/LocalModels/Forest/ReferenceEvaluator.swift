import Foundation

/// The definition of what a `ForestModel` computes: one row, one node at a time, no tricks.
///
/// Slow on purpose. `CompiledForest` is checked against it, and it is the fallback for trees
/// whose nodes the compiled form cannot express (categorical and equality splits,
/// LightGBM's zero-as-missing).
public struct ReferenceEvaluator: Sendable {
    public let model: ForestModel

    public init(model: ForestModel) {
        self.model = model
    }

    /// Scores for one row, before the head: base and leaves summed in the model's precision.
    public func scores(row: [Double]) -> [Double] {
        precondition(row.count == model.featureCount, "row has \(row.count) features, model \(model.featureCount)")
        switch model.accumulation {
        case .float64:
            var sums = [Double](repeating: 0, count: model.outputCount)
            accumulate(row: row, into: &sums)
            return sums
        case .float32:
            var sums = [Float](repeating: 0, count: model.outputCount)
            accumulate(row: row, into: &sums)
            return sums.map(Double.init)
        }
    }

    public func predict(row: [Double]) -> ForestPrediction {
        model.head.finish(scores: scores(row: row))
    }

    /// The leaf a row reaches in one tree.
    public func leaf<Row: RandomAccessCollection<Double>>(of tree: DecisionTree, row: Row) -> [LeafValue]
    where Row.Index == Int {
        var index = 0
        while true {
            switch tree.nodes[index] {
            case .leaf(let values):
                return values
            case .split(let split):
                let value = row[row.startIndex + split.feature]
                index = goesTrue(split, value: value) ? split.whenTrue : split.whenFalse
            case .categorical(let split):
                let value = row[row.startIndex + split.feature]
                index = isMember(split, value: value) ? split.whenMember : split.whenOther
            }
        }
    }

    private func accumulate<Score: BinaryFloatingPoint>(row: [Double], into sums: inout [Score]) {
        if model.baseTiming == .beforeTrees {
            for (output, base) in model.baseScores.enumerated() { sums[output] = Score(base) }
        }
        for tree in model.trees {
            for value in leaf(of: tree, row: row) {
                sums[value.output] += Score(value.value)
            }
        }
        if model.aggregation == .average {
            let count = Score(model.trees.count)
            for output in sums.indices { sums[output] /= count }
        }
        if model.baseTiming == .afterTrees {
            for (output, base) in model.baseScores.enumerated() { sums[output] += Score(base) }
        }
    }

    private func goesTrue(_ split: NumericSplit, value raw: Double) -> Bool {
        if raw.isNaN { return split.nanGoesTrue }
        if split.zeroIsMissing && abs(raw) <= lightGBMZeroThreshold { return split.nanGoesTrue }
        switch model.splitPrecision {
        case .float64:
            return split.rule.holds(raw, split.threshold)
        case .float32:
            return split.rule.holds(Float(raw), Float(split.threshold))
        }
    }

    private func isMember(_ split: CategoricalSplit, value raw: Double) -> Bool {
        if raw.isNaN { return split.nanGoesMember }
        let value = model.splitPrecision == .float32 ? Double(Float(raw)) : raw
        if split.negativeIsOther && value < 0 { return false }
        guard value > -1, value < Double(Int32.max) else { return false }
        return split.categories.contains(Int(value))
    }
}

/// LightGBM's `kZeroThreshold`: declared `const double kZeroThreshold = 1e-35f`, so the float
/// nearest 1e-35 (1.0000000180025095e-35), a hair above the double 1e-35.
let lightGBMZeroThreshold = Double(Float(1e-35))

extension SplitRule {
    @inline(__always)
    func holds<Value: Comparable>(_ value: Value, _ threshold: Value) -> Bool {
        switch self {
        case .lessOrEqual: value <= threshold
        case .less: value < threshold
        case .greaterOrEqual: value >= threshold
        case .greater: value > threshold
        case .equal: value == threshold
        case .notEqual: value != threshold
        }
    }
}
