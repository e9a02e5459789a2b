import Testing

@testable import LocalModels

/// Hand-built ONNX models: onnxruntime rules no fixture exercises, with the answers
/// onnxruntime 1.32 gave for the same models, and malformed or unsupported models with the
/// located errors they must raise.
@Suite struct ONNXLoaderRuleTests {
    static let file = "hand-built.onnx"

    static func load(_ model: ONNXTestModel) throws(ForestLoadError) -> ForestModel {
        try ONNXForestLoader.load(bytes: model.bytes(), file: file)
    }

    /// Both evaluators' answers for each row, which must agree.
    static func answers(_ model: ForestModel, _ rows: [[Double]]) -> [ForestPrediction] {
        let compiled = CompiledForest(model)
        return rows.map { row in
            let reference = ReferenceEvaluator(model: model).predict(row: row)
            #expect(compiled.predict(row: row) == reference, "compiled and reference differ on \(row)")
            return reference
        }
    }

    static func values(_ model: ForestModel, _ rows: [[Double]]) -> [[Double]] {
        answers(model, rows).map { prediction in
            switch prediction {
            case .regression(let values): values
            case .classification(_, let probabilities): probabilities
            }
        }
    }

    static func close(_ actual: [[Double]], _ expected: [[Double]], tolerance: Double = 1e-6) -> Bool {
        actual.count == expected.count
            && zip(actual, expected).allSatisfy { a, e in
                a.count == e.count && zip(a, e).allSatisfy { $0 == $1 || abs($0 - $1) <= tolerance }
            }
    }

    @Test func aSingleTargetLeafWithoutWeightsAddsItsNodeValue() throws {
        let model = try Self.load(
            .regressor(
                .floats("nodes_values", [0.5, 7, 9]), .ints("target_treeids", [0]), .ints("target_nodeids", [1]),
                .ints("target_ids", [0]), .floats("target_weights", [1])))
        #expect(Self.values(model, [[0.1, 0], [0.9, 0]]) == [[1], [9]])
    }

    @Test func aSingleTargetLeafAddsOnlyItsFirstWeight() throws {
        let model = try Self.load(
            .regressor(
                .ints("target_treeids", [0, 0, 0]), .ints("target_nodeids", [1, 1, 2]), .ints("target_ids", [0, 0, 0]),
                .floats("target_weights", [1, 10, 2])))
        #expect(Self.values(model, [[0.1, 0], [0.9, 0]]) == [[1], [2]])
    }

    @Test func notEqualSendsNaNTrueAndOtherRulesFollowTheFlag() throws {
        let neq = try Self.load(.regressor(.strings("nodes_modes", ["BRANCH_NEQ", "LEAF", "LEAF"])))
        #expect(Self.values(neq, [[.nan, 0], [0.5, 0], [0.4, 0]]) == [[1], [2], [1]])
        let tracked = try Self.load(.regressor(.ints("nodes_missing_value_tracks_true", [1, 0, 0])))
        #expect(Self.values(tracked, [[.nan, 0]]) == [[1]])
        let untracked = try Self.load(.regressor())
        #expect(Self.values(untracked, [[.nan, 0]]) == [[2]])
        // TreeEnsemble's codes 4 and 5 are the same two rules.
        let equal = try Self.load(.treeEnsemble(.tensor("nodes_modes", dataType: 2, values: [4])))
        #expect(Self.values(equal, [[0.5, 0], [0.4, 0], [.nan, 0]]) == [[1], [2], [2]])
        let notEqual = try Self.load(.treeEnsemble(.tensor("nodes_modes", dataType: 2, values: [5])))
        #expect(Self.values(notEqual, [[0.5, 0], [0.4, 0], [.nan, 0]]) == [[2], [1], [1]])
    }

    @Test func oneTargetIgnoresEveryTransformButProbit() throws {
        for name in ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"] {
            let model = try Self.load(.regressor(.floats("target_weights", [0.3, -2]), .string("post_transform", name)))
            #expect(Self.close(Self.values(model, [[0.1, 0], [0.9, 0]]), [[0.30000001192092896], [-2]]), "\(name)")
        }
        let probit = try Self.load(.regressor(.floats("target_weights", [0.3, 0.9]), .string("post_transform", "PROBIT")))
        #expect(Self.close(Self.values(probit, [[0.1, 0], [0.9, 0]]), [[-0.5244458913803101], [1.2817128896713257]]))
    }

    /// onnxruntime's binary classifier: [1 - s, s] with the label s > 0.5 when no weight is
    /// negative, [-s, s] with s > 0 otherwise, and only LOGISTIC transforms.
    @Test func binaryClassifiersAnswerInOnnxruntimesLayouts() throws {
        let rows = [[0.1, 0.0], [0.9, 0]]
        let cases: [([Float], String, [[Double]], [Int])] = [
            ([0.7, 0.3], "NONE", [[0.30000001192092896, 0.699999988079071], [0.699999988079071, 0.30000001192092896]], [1, 0]),
            ([0.7, 0.3], "SOFTMAX", [[0.30000001192092896, 0.699999988079071], [0.699999988079071, 0.30000001192092896]], [1, 0]),
            ([0.7, 0.3], "LOGISTIC", [[0.3318122625350952, 0.6681877374649048], [0.4255574941635132, 0.5744425058364868]], [1, 0]),
            ([0.7, -0.3], "NONE", [[-0.699999988079071, 0.699999988079071], [0.30000001192092896, -0.30000001192092896]], [1, 0]),
            ([0.7, -0.3], "SOFTMAX_ZERO", [[-0.699999988079071, 0.699999988079071], [0.30000001192092896, -0.30000001192092896]], [1, 0]),
            ([0.7, -0.3], "LOGISTIC", [[0.3318122625350952, 0.6681877374649048], [0.5744425058364868, 0.4255574941635132]], [1, 0]),
        ]
        for (weights, transform, expected, labels) in cases {
            let model = try Self.load(
                .binaryClassifier(.floats("class_weights", weights), .string("post_transform", transform)))
            let answers = Self.answers(model, rows)
            #expect(Self.close(Self.values(model, rows), expected), "\(weights) \(transform)")
            #expect(answers.map { if case .classification(let label, _) = $0 { label } else { -1 } } == labels)
        }
        // Base value -0.4 moves s to 0.3 and -0.1: both labelled 0 (s <= 0.5).
        let based = try Self.load(.binaryClassifier(.floats("base_values", [-0.4])))
        #expect(Self.close(Self.values(based, rows), [[0.7000000476837158, 0.29999998211860657], [1.100000023841858, -0.09999999403953552]]))
    }

    @Test func treeEnsembleNumbersTransformsAsOnnxruntimeDoes() throws {
        // x0 <= 0.5 ? (target 0 += 2) : (target 0 += -1); target 1 is never fed.
        let expected: [Int64: [[Double]]] = [
            0: [[2, 0], [-1, 0]],
            1: [[0.8807970285415649, 0.5], [0.26894140243530273, 0.5]],
            2: [[0.8807970285415649, 0.11920291930437088], [0.2689414322376251, 0.7310585975646973]],
            3: [[1, 0], [1, 0]],
        ]
        for (transform, values) in expected {
            let model = try Self.load(
                .treeEnsemble(
                    .int("n_targets", 2), .int("post_transform", transform),
                    .tensor("leaf_weights", dataType: 1, values: [2, -1])))
            #expect(Self.close(Self.values(model, [[0, 0], [1, 0]]), values), "post_transform \(transform)")
        }
    }

    /// A small set (under 31 members, all in 0...30) is exact equality; a larger one is a
    /// lookup of the input truncated to an integer.
    @Test func membershipSetsSmallAndLarge() throws {
        let inputs: [Double] = [1, 1.5, 0.99, 3, 3.7, -0.5, 40, 40.5, .nan, 2]
        let expected: [(members: [Double], member: [Double])] = [
            ([1, 3], [1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
            ([1, 3, 40], [1, 1, 0, 1, 1, 0, 1, 1, 0, 0]),
        ]
        for (members, member) in expected {
            let model = try Self.load(
                .treeEnsemble(
                    .tensor("nodes_modes", dataType: 2, values: [6]),
                    .tensor("membership_values", dataType: 1, values: members + [.nan]),
                    .tensor("leaf_weights", dataType: 1, values: [1, 0])))
            #expect(Self.values(model, inputs.map { [$0, 0] }) == member.map { [$0] }, "\(members)")
        }
        let tracked = try Self.load(
            .treeEnsemble(
                .tensor("nodes_modes", dataType: 2, values: [6]), .ints("nodes_missing_value_tracks_true", [1]),
                .tensor("membership_values", dataType: 1, values: [1, 3, 40, .nan]),
                .tensor("leaf_weights", dataType: 1, values: [1, 0])))
        #expect(Self.values(tracked, [[.nan, 0]]) == [[1]])
    }

    @Test func sharedSubtreesAreWalkedAsOnnxruntimeWalksThem() throws {
        // onnxmltools' LightGBM category chain: x == 1 or x == 3 lead to the same leaf.
        let model = try Self.load(
            .regressor(
                .ints("nodes_treeids", [0, 0, 0, 0]), .ints("nodes_nodeids", [0, 1, 2, 3]),
                .ints("nodes_featureids", [0, 0, 0, 0]), .strings("nodes_modes", ["BRANCH_EQ", "BRANCH_EQ", "LEAF", "LEAF"]),
                .floats("nodes_values", [1, 3, 0, 0]), .ints("nodes_truenodeids", [2, 2, 0, 0]),
                .ints("nodes_falsenodeids", [1, 3, 0, 0]), .ints("target_treeids", [0, 0]), .ints("target_nodeids", [2, 3]),
                .ints("target_ids", [0, 0]), .floats("target_weights", [1, 5])))
        #expect(Self.values(model, [[1, 0], [3, 0], [2, 0]]) == [[1], [1], [5]])
        // A TreeEnsemble may name the same root twice: two trees.
        let twice = try Self.load(.treeEnsemble(.ints("tree_roots", [0, 0])))
        #expect(Self.values(twice, [[0, 0], [1, 0]]) == [[2], [4]])
    }

    @Test func theFeatureCountComesFromTheInputShapeOrTheSplits() throws {
        #expect(try Self.load(.regressor()).featureCount == 2)
        var symbolic = ONNXTestModel.regressor(.ints("nodes_featureids", [4, 0, 0]))
        symbolic.inputs = [("input", 1, nil)]
        let model = try Self.load(symbolic)
        #expect(model.featureCount == 5)
        #expect(model.inputName == "input")
        #expect(model.splitPrecision == .float32 && model.accumulation == .float32)
        var double = ONNXTestModel.regressor()
        double.inputs = [("input", 11, 2)]
        let doubled = try Self.load(double)
        #expect(doubled.splitPrecision == .float64 && doubled.accumulation == .float64)
        #expect(Self.values(doubled, [[0.5, 0], [Double(Float(0.5)).nextUp, 0]]) == [[1], [2]])
    }
}
