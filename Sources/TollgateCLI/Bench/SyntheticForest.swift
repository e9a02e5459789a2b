import LocalModels

/// A forest built in code with the shape of the benchmark's ONNX random forest, so the
/// engine can be measured without model files: complete trees of `depth` levels over
/// standard normal features, each leaf adding one weight per class (as a random forest
/// classifier's leaves do), a per-class head with no transform, float32 splits.
public enum SyntheticForest {
    public static func randomForest(
        trees: Int = 100,
        depth: Int = 10,
        classes: Int = 4,
        features: Int = 32,
        seed: UInt64 = 7
    ) -> ForestModel {
        var rng = ForestBenchRandom(state: seed)
        let forest = (0..<trees).map { _ in
            tree(depth: depth, classes: classes, features: features, weight: 1 / Double(trees), rng: &rng)
        }
        return ForestModel(
            format: .onnx,
            featureCount: features,
            outputCount: classes,
            trees: forest,
            splitPrecision: .float32,
            accumulation: .float32,
            head: .classification(labels: .integers((0..<Int64(classes)).map { $0 }), scores: .perClass(.identity))
        )
    }

    /// A complete tree in breadth-first order; thresholds are normal draws so rows spread
    /// over every path, as they do over a trained tree's.
    static func tree(depth: Int, classes: Int, features: Int, weight: Double, rng: inout ForestBenchRandom) -> DecisionTree {
        let splits = (1 << depth) - 1
        let total = (1 << (depth + 1)) - 1
        let nodes: [TreeNode] = (0..<total).map { index in
            guard index < splits else {
                var shares = (0..<classes).map { _ in Double.random(in: 0..<1, using: &rng) }
                let sum = shares.reduce(0, +)
                shares = shares.map { $0 / sum * weight }
                return .leaf(shares.enumerated().map { LeafValue(output: $0.offset, value: $0.element) })
            }
            return .split(
                NumericSplit(
                    feature: Int.random(in: 0..<features, using: &rng),
                    threshold: rng.nextGaussian() * 0.8,
                    rule: .lessOrEqual,
                    nanGoesTrue: Bool.random(using: &rng),
                    whenTrue: 2 * index + 1,
                    whenFalse: 2 * index + 2
                )
            )
        }
        return DecisionTree(nodes: nodes)
    }
}
