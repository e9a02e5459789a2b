import Testing

@testable import LocalModels

/// The compiled kernel against the reference walk on random forests that use every split
/// rule, NaN direction, categorical and zero-as-missing splits, both precisions and every
/// head, with rows that sit exactly on thresholds, next to them, NaN and infinite.
@Suite struct CompiledForestTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let thresholds: [Double] = [-2.5, -1, -0.1, 0, 0.25, 0.5, 1, 1.5, 3.75]

    static func randomTree(
        depth: Int,
        features: Int,
        outputs: Int,
        exotic: Bool,
        rng: inout Generator
    ) -> DecisionTree {
        var nodes: [TreeNode] = [.leaf([])]
        func grow(_ index: Int, _ level: Int) {
            if level == depth || (level > 1 && Int.random(in: 0..<5, using: &rng) == 0) {
                let entries = (0..<Int.random(in: 1...max(1, outputs), using: &rng)).map { _ in
                    LeafValue(
                        output: Int.random(in: 0..<outputs, using: &rng),
                        value: Double.random(in: -1...1, using: &rng)
                    )
                }
                nodes[index] = .leaf(entries)
                return
            }
            let whenTrue = nodes.count
            nodes.append(.leaf([]))
            let whenFalse = nodes.count
            nodes.append(.leaf([]))
            let feature = Int.random(in: 0..<features, using: &rng)
            if exotic && Int.random(in: 0..<6, using: &rng) == 0 {
                nodes[index] = .categorical(
                    CategoricalSplit(
                        feature: feature,
                        categories: [0, 2, 3],
                        nanGoesMember: Bool.random(using: &rng),
                        whenMember: whenTrue,
                        whenOther: whenFalse
                    )
                )
            } else {
                let rules: [SplitRule] =
                    exotic
                    ? [.lessOrEqual, .less, .greater, .greaterOrEqual, .equal, .notEqual]
                    : [.lessOrEqual, .less, .greater, .greaterOrEqual]
                nodes[index] = .split(
                    NumericSplit(
                        feature: feature,
                        threshold: thresholds.randomElement(using: &rng)!,
                        rule: rules.randomElement(using: &rng)!,
                        nanGoesTrue: Bool.random(using: &rng),
                        zeroIsMissing: exotic && Int.random(in: 0..<8, using: &rng) == 0,
                        whenTrue: whenTrue,
                        whenFalse: whenFalse
                    )
                )
            }
            grow(whenTrue, level + 1)
            grow(whenFalse, level + 1)
        }
        grow(0, 0)
        return DecisionTree(nodes: nodes)
    }

    static func rows(count: Int, features: Int, rng: inout Generator) -> [Double] {
        var specials = thresholds + [.nan, .infinity, -.infinity, 1e-40, -0.0, 2]
        specials += thresholds.map { Double(Float($0).nextUp) } + thresholds.map { Double(Float($0).nextDown) }
        specials += thresholds.map { $0.nextUp } + thresholds.map { $0.nextDown }
        return (0..<(count * features)).map { _ in
            Bool.random(using: &rng) ? specials.randomElement(using: &rng)! : Double.random(in: -4...4, using: &rng)
        }
    }

    static let heads: [(Head, Int)] = [
        (.regression(.identity), 2),
        (.classification(labels: .integers([0, 1, 2]), scores: .perClass(.softmax)), 3),
        (
            .classification(
                labels: .strings(["no", "yes"]),
                scores: .binary(.logistic(scale: 1), negative: .complement, positiveAbove: 0)
            ), 1
        ),
        (
            .classification(
                labels: .integers([3, 7]),
                scores: .binary(.identity, negative: .transformOfNegated, positiveAbove: 0.5)
            ), 1
        ),
    ]

    @Test(arguments: [false, true])
    func compiledMatchesReferenceBitForBit(exotic: Bool) {
        var rng = Generator(state: exotic ? 7 : 3)
        for precision in [Precision.float32, .float64] {
            for accumulation in [Precision.float32, .float64] {
                for (headIndex, (head, outputs)) in Self.heads.enumerated() {
                    let features = 5
                    let trees = (0..<12).map { _ in
                        Self.randomTree(depth: 6, features: features, outputs: outputs, exotic: exotic, rng: &rng)
                    }
                    let model = ForestModel(
                        format: .onnx,
                        featureCount: features,
                        outputCount: outputs,
                        trees: trees,
                        baseScores: (0..<outputs).map { Double($0) * 0.3 - 0.2 },
                        baseTiming: headIndex % 2 == 0 ? .afterTrees : .beforeTrees,
                        aggregation: headIndex == 0 ? .average : .sum,
                        splitPrecision: precision,
                        accumulation: accumulation,
                        head: head
                    )
                    #expect(throws: Never.self) { try model.validate(file: "random") }
                    let reference = ReferenceEvaluator(model: model)
                    let rowCount = 700
                    let rows = Self.rows(count: rowCount, features: features, rng: &rng)
                    // Heap layout where trees allow it, then every tree linked.
                    for heapDepthLimit in [12, 0] {
                        let compiled = CompiledForest(model, heapDepthLimit: heapDepthLimit)
                        let context =
                            "precision \(precision) accumulation \(accumulation) head \(headIndex) heap \(heapDepthLimit)"
                        for threads in [1, 2] {
                            let batch = compiled.predict(rows: rows, rowCount: rowCount, threads: threads)
                            var mismatches = 0
                            for row in 0..<rowCount {
                                let expected = reference.predict(
                                    row: Array(rows[(row * features)..<((row + 1) * features)])
                                )
                                let actual = compiled.prediction(batch, at: row)
                                if !Self.sameBits(expected, actual) { mismatches += 1 }
                            }
                            #expect(mismatches == 0, "\(context) threads \(threads)")
                        }
                        // Small batches walk several trees per step; each must still add in tree order.
                        for batchSize in [1, 3, 7, 20] {
                            var mismatches = 0
                            for first in stride(from: 0, to: 60, by: batchSize) {
                                let slice = Array(rows[(first * features)..<((first + batchSize) * features)])
                                let batch = compiled.predict(rows: slice, rowCount: batchSize)
                                for row in 0..<batchSize {
                                    let expected = reference.predict(
                                        row: Array(slice[(row * features)..<((row + 1) * features)])
                                    )
                                    if !Self.sameBits(expected, compiled.prediction(batch, at: row)) { mismatches += 1 }
                                }
                            }
                            #expect(mismatches == 0, "batch \(batchSize) \(context)")
                        }
                    }
                }
            }
        }
    }

    static func sameBits(_ a: ForestPrediction, _ b: ForestPrediction) -> Bool {
        switch (a, b) {
        case (.classification(let la, let pa), .classification(let lb, let pb)):
            return la == lb && pa.map(\.bitPattern) == pb.map(\.bitPattern)
        case (.regression(let va), .regression(let vb)):
            return va.map(\.bitPattern) == vb.map(\.bitPattern)
        default:
            return false
        }
    }

    @Test func compilesOrdinaryTreesAndFallsBackOnExoticOnes() {
        var rng = Generator(state: 11)
        let plain = Self.randomTree(depth: 4, features: 3, outputs: 1, exotic: false, rng: &rng)
        let categorical = DecisionTree(nodes: [
            .categorical(
                CategoricalSplit(feature: 0, categories: [1], nanGoesMember: false, whenMember: 1, whenOther: 2)
            ),
            .leaf([LeafValue(output: 0, value: 1)]), .leaf([LeafValue(output: 0, value: 2)]),
        ])
        let model = ForestModel(
            format: .lightgbm,
            featureCount: 3,
            outputCount: 1,
            trees: [plain, categorical],
            splitPrecision: .float64,
            accumulation: .float64,
            head: .regression(.identity)
        )
        guard case .float64(let kernel) = CompiledForest(model).kernel else {
            Issue.record("a float64 model must compile to a float64 table")
            return
        }
        #expect(kernel.trees.map(\.isCompiled) == [true, false])
        #expect(
            CompiledForest(model).predict(row: [1, 0, 0]) == ReferenceEvaluator(model: model).predict(row: [1, 0, 0])
        )
    }
}
