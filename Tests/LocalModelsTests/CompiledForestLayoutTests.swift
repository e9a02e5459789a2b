import Testing

@testable import LocalModels

/// The compiled kernel's layout choices against the reference walk: dense, single-output and
/// listed leaves; negated columns for NaN-left splits at infinite thresholds; deep lopsided
/// trees; batches that cross lane blocks, row blocks and thread units; the buffer entry points.
@Suite struct CompiledForestLayoutTests {
    typealias Generator = CompiledForestTests.Generator

    static func model(
        _ trees: [DecisionTree],
        features: Int,
        outputs: Int,
        precision: Precision,
        accumulation: Precision,
        base: [Double] = []
    ) -> ForestModel {
        let head: Head =
            outputs == 1
            ? .regression(.identity)
            : .classification(labels: .integers((0..<Int64(outputs)).map { $0 }), scores: .perClass(.identity))
        return ForestModel(
            format: .onnx,
            featureCount: features,
            outputCount: outputs,
            trees: trees,
            baseScores: base,
            baseTiming: .beforeTrees,
            splitPrecision: precision,
            accumulation: accumulation,
            head: head
        )
    }

    /// Every row of `rows`, in batches of each size and with one and two threads, bit for
    /// bit against the reference; the single-row and caller-buffer entry points too; with
    /// heap trees where they fit and with every tree linked.
    static func mismatches(_ model: ForestModel, rows: [Double], batchSizes: [Int] = [1, 5, 31, 33, 1100]) -> Int {
        let features = model.featureCount
        let reference = ReferenceEvaluator(model: model)
        let count = rows.count / features
        let expected = (0..<count).map { reference.predict(row: Array(rows[($0 * features)..<(($0 + 1) * features)])) }
        return [12, 0].reduce(0) { total, heapDepthLimit in
            total
                + mismatches(
                    CompiledForest(model, heapDepthLimit: heapDepthLimit),
                    expected,
                    rows: rows,
                    batchSizes: batchSizes
                )
        }
    }

    static func mismatches(
        _ compiled: CompiledForest,
        _ expected: [ForestPrediction],
        rows: [Double],
        batchSizes: [Int]
    ) -> Int {
        let features = compiled.featureCount
        let count = expected.count
        var mismatches = 0
        for size in batchSizes {
            for threads in [1, 2] {
                for first in stride(from: 0, to: count - size + 1, by: size) {
                    let slice = Array(rows[(first * features)..<((first + size) * features)])
                    let batch = compiled.predict(rows: slice, rowCount: size, threads: threads)
                    for row in 0..<size
                    where !CompiledForestTests.sameBits(expected[first + row], compiled.prediction(batch, at: row)) {
                        mismatches += 1
                    }
                }
            }
        }
        for row in 0..<min(count, 50) {
            let single = compiled.predict(row: Array(rows[(row * features)..<((row + 1) * features)]))
            if !CompiledForestTests.sameBits(expected[row], single) { mismatches += 1 }
        }
        var labels = [Int](repeating: -1, count: count)
        var values = [Double](repeating: .nan, count: count * compiled.answerWidth)
        rows.withUnsafeBufferPointer { input in
            labels.withUnsafeMutableBufferPointer { labels in
                values.withUnsafeMutableBufferPointer { values in
                    compiled.predict(rows: input, rowCount: count, threads: 2, labels: labels, values: values)
                }
            }
        }
        let width = compiled.answerWidth
        for row in 0..<count {
            var batch = ForestBatch(rowCount: 1, width: width)
            batch.labels = [labels[row]]
            batch.values = Array(values[(row * width)..<((row + 1) * width)])
            if !CompiledForestTests.sameBits(expected[row], compiled.prediction(batch, at: 0)) { mismatches += 1 }
        }
        return mismatches
    }

    /// Leaves that list some outputs, out of order, with signed zeros: the dense form fills
    /// the rest with -0.0, which must leave a -0.0 sum as it is.
    @Test(arguments: [Precision.float32, .float64])
    func denseLeavesWithMissingOutputsAndSignedZeros(accumulation: Precision) {
        var rng = Generator(state: 21)
        let trees = (0..<9).map { _ in
            var tree = CompiledForestTests.randomTree(depth: 5, features: 4, outputs: 3, exotic: false, rng: &rng)
            tree.nodes = tree.nodes.map { node in
                guard case .leaf = node else { return node }
                let outputs = [0, 1, 2].shuffled(using: &rng).prefix(Int.random(in: 0...3, using: &rng))
                let values: [Double] = [-0.0, 0.0, 0.5, -1.25]
                return .leaf(outputs.map { LeafValue(output: $0, value: values.randomElement(using: &rng)!) })
            }
            return tree
        }
        let model = Self.model(
            trees,
            features: 4,
            outputs: 3,
            precision: .float32,
            accumulation: accumulation,
            base: [-0.0, 0.0, -0.0]
        )
        switch CompiledForest(model).kernel {
        case .float32(let kernel): #expect(kernel.trees.contains { $0.leaves == .dense })
        case .float32Summed64(let kernel): #expect(kernel.trees.contains { $0.leaves == .dense })
        default: Issue.record("a float32 model must compile to a float32 table")
        }
        let rows = CompiledForestTests.rows(count: 1200, features: 4, rng: &rng)
        #expect(Self.mismatches(model, rows: rows) == 0)
    }

    /// One output per tree, as boosted multiclass models are laid out.
    @Test func singleOutputTrees() {
        var rng = Generator(state: 22)
        let trees = (0..<12).map { index in
            var tree = CompiledForestTests.randomTree(depth: 6, features: 6, outputs: 1, exotic: false, rng: &rng)
            tree.nodes = tree.nodes.map { node in
                guard case .leaf = node else { return node }
                return .leaf([LeafValue(output: index % 3, value: Double.random(in: -1...1, using: &rng))])
            }
            return tree
        }
        let model = Self.model(
            trees,
            features: 6,
            outputs: 3,
            precision: .float32,
            accumulation: .float32,
            base: [0.5, 0.5, 0.5]
        )
        guard case .float32(let kernel) = CompiledForest(model).kernel else { return }
        #expect(kernel.trees.map(\.leaves) == (0..<12).map { .single(output: $0 % 3) })
        #expect(Self.mismatches(model, rows: CompiledForestTests.rows(count: 1200, features: 6, rng: &rng)) == 0)
    }

    /// Every rule at infinite and zero thresholds, NaN either way, on rows of infinities,
    /// NaN, zeros and the largest finite values.
    @Test(arguments: [Precision.float32, .float64])
    func infiniteThresholdsAndNaNDirections(precision: Precision) {
        let thresholds: [Double] = [
            .infinity, -.infinity, 0, -0.0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        ]
        var trees: [DecisionTree] = []
        for rule in [SplitRule.lessOrEqual, .less, .greater, .greaterOrEqual] {
            for threshold in thresholds {
                for nanGoesTrue in [false, true] {
                    trees.append(
                        DecisionTree(nodes: [
                            .split(
                                NumericSplit(
                                    feature: trees.count % 2,
                                    threshold: threshold,
                                    rule: rule,
                                    nanGoesTrue: nanGoesTrue,
                                    whenTrue: 1,
                                    whenFalse: 2
                                )
                            ),
                            .leaf([LeafValue(output: 0, value: Double(trees.count + 1))]),
                            .leaf([LeafValue(output: 0, value: -Double(trees.count + 1) / 1024)]),
                        ])
                    )
                }
            }
        }
        let model = Self.model(trees, features: 2, outputs: 1, precision: precision, accumulation: .float64)
        switch CompiledForest(model).kernel {
        case .float32Summed64(let kernel): #expect(kernel.trees.allSatisfy { $0.isCompiled })
        case .float64(let kernel): #expect(kernel.trees.allSatisfy { $0.isCompiled })
        default: Issue.record("unexpected kernel")
        }
        let specials: [Double] = [
            .nan, .infinity, -.infinity, 0, -0.0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, -1, 3.5e38,
            -3.5e38,
        ]
        let rows = specials.flatMap { a in specials.flatMap { b in [a, b] } }
        #expect(Self.mismatches(model, rows: rows, batchSizes: [1, 7, 40, 121]) == 0)
    }

    /// A chain 40 levels deep next to shallow trees: lanes that finish early must wait on
    /// their leaf while the deep lanes walk on.
    @Test func deepLopsidedTrees() {
        var rng = Generator(state: 23)
        var chain: [TreeNode] = []
        for level in 0..<40 {
            let index = chain.count
            chain.append(
                .split(
                    NumericSplit(
                        feature: level % 3,
                        threshold: Double(level % 7) / 2 - 1.5,
                        rule: level % 2 == 0 ? .less : .greaterOrEqual,
                        nanGoesTrue: level % 3 == 0,
                        whenTrue: index + 1,
                        whenFalse: index + 2
                    )
                )
            )
            chain.append(
                .leaf([LeafValue(output: 0, value: Double(level)), LeafValue(output: 1, value: 1 / Double(level + 1))])
            )
        }
        chain.append(.leaf([LeafValue(output: 1, value: 99)]))
        let shallow = (0..<5).map { _ in
            CompiledForestTests.randomTree(depth: 3, features: 3, outputs: 2, exotic: false, rng: &rng)
        }
        let model = Self.model(
            shallow + [DecisionTree(nodes: chain)] + shallow,
            features: 3,
            outputs: 2,
            precision: .float64,
            accumulation: .float64
        )
        #expect(throws: Never.self) { try model.validate(file: "chain") }
        guard case .float64(let kernel) = CompiledForest(model).kernel else { return }
        #expect(kernel.trees.map(\.depth).max() == 40)
        #expect(Self.mismatches(model, rows: CompiledForestTests.rows(count: 1200, features: 3, rng: &rng)) == 0)
    }
}
