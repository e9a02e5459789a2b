import Foundation
import Testing

@testable import LocalModels

/// `XGBoostLoader` against what xgboost 3.2 answered for the committed fixtures, and against
/// hand-written models that are wrong in one place each.
@Suite struct XGBoostLoaderTests {
    static let fixtures = ForestFixture.all(.xgboost)

    static func load(_ fixture: ForestFixture) throws -> ForestModel {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture.modelPath)))
        return try XGBoostLoader.load(bytes: bytes, file: fixture.name)
    }

    static func load(_ model: XGBoostTestModel, file: String = "hand.json") throws(ForestLoadError) -> ForestModel {
        try XGBoostLoader.load(bytes: model.bytes, file: file)
    }

    /// The error a load throws, or nil when it loads.
    static func error(_ model: XGBoostTestModel) -> ForestLoadError? {
        error(model.bytes)
    }

    static func error(_ bytes: [UInt8], file: String = "hand.json") -> ForestLoadError? {
        loadError { () throws(ForestLoadError) in try XGBoostLoader.load(bytes: bytes, file: file) }
    }

    @Test func fixturesAreCommitted() {
        #expect(Self.fixtures.count >= 5)
    }

    @Test(arguments: fixtures)
    func matchesXGBoost(_ fixture: ForestFixture) throws {
        let model = try Self.load(fixture)
        #expect(model.featureCount == fixture.featureCount)
        #expect(fixture.mismatchesOnEveryPath(model) == [])
    }

    /// The margins (`output_margin=True`) are float32 sums; summed in the same order from the
    /// same float32 base, they come out bit for bit.
    @Test(arguments: fixtures)
    func marginsAreExact(_ fixture: ForestFixture) throws {
        let model = try Self.load(fixture)
        let margins = try XGBoostFixtureMargins.read(fixture)
        #expect(margins.count == fixture.inputs.count)
        let reference = ReferenceEvaluator(model: model)
        var differing: [String] = []
        for (row, expected) in zip(fixture.inputs, margins) where reference.scores(row: row) != expected {
            differing.append("\(row): \(reference.scores(row: row)), expected \(expected)")
        }
        #expect(differing == [])
    }

    /// Every tree without a categorical split runs in the compiled kernel.
    @Test(arguments: fixtures)
    func numericTreesCompile(_ fixture: ForestFixture) throws {
        let model = try Self.load(fixture)
        let plans: [TreePlan] =
            switch CompiledForest(model).kernel {
            case .float32(let table): table.trees
            default: []
            }
        #expect(plans.count == model.trees.count, "XGBoost compares and sums in float32")
        for (tree, plan) in zip(model.trees, plans) {
            let categorical = tree.nodes.contains { if case .categorical = $0 { true } else { false } }
            #expect(plan.isCompiled == !categorical)
        }
    }

    @Test func featureNamesComeFromTheFile() throws {
        var source = XGBoostTestModel()
        source.featureNames = ["age", "income"]
        #expect(try Self.load(source).featureNames == ["age", "income"])
        source.featureNames = []
        #expect(try Self.load(source).featureNames == nil)
        source.featureNames = ["age"]
        #expect(Self.error(source)?.reason == "1 feature names for 2 features")
    }

    /// `float(x) < split_condition` goes left: on the threshold is right, one float below is
    /// left, and a double just below that rounds up onto the threshold is right.
    @Test func splitsCompareFloat32LessThan() throws {
        var source = XGBoostTestModel()
        source.trees = [.stump(threshold: "5E-1", low: "1", high: "2", defaultLeft: false)]
        source.baseScore = "[0E0]"
        let model = try Self.load(source)
        let cases: [(Double, Double)] = [
            (0.5, 2), (Double(Float(0.5).nextDown), 1), (0.5 - 1e-12, 2), (0.5 + 1e-12, 2),
            (-.infinity, 1), (.infinity, 2), (.nan, 2),
        ]
        let compiled = CompiledForest(model)
        for (x, expected) in cases {
            #expect(
                ReferenceEvaluator(model: model).predict(row: [x, 0]) == .regression(values: [expected]),
                "x = \(x)"
            )
            #expect(compiled.predict(row: [x, 0]) == .regression(values: [expected]), "x = \(x)")
        }
    }

    /// Categories listed for a node go right; negative values, huge values and values that
    /// round (in float32) onto an unlisted category go left, as xgboost 3.2 was seen to do.
    @Test func categoricalSplitsFollowXGBoost() throws {
        var source = XGBoostTestModel()
        source.baseScore = "[0E0]"
        source.trees = [
            XGBoostTestModel.Tree(
                left: [1, -1, -1],
                right: [2, -1, -1],
                features: [0, 0, 0],
                conditions: ["1E-45", "1", "2"],
                defaultLeft: [1, 0, 0],
                splitTypes: [1, 0, 0],
                categories: [(node: 0, values: [0, 3, 5])]
            )
        ]
        let model = try Self.load(source)
        let cases: [(Double, Double)] = [
            (0, 2), (-0.0, 2), (-0.5, 1), (-1, 1), (3, 2), (2.9999999999, 2), (2.9999, 1), (5.5, 2),
            (.nan, 1), (1e6, 1), (16_777_216, 1), (1, 1),
        ]
        for (x, expected) in cases {
            #expect(
                ReferenceEvaluator(model: model).predict(row: [x, 0]) == .regression(values: [expected]),
                "x = \(x)"
            )
            #expect(CompiledForest(model).predict(row: [x, 0]) == .regression(values: [expected]), "x = \(x)")
        }
    }

    @Test func unknownObjectiveIsNamed() {
        var source = XGBoostTestModel()
        source.objective = "binary:hinge"
        let error = Self.error(source)
        #expect(error?.file == "hand.json")
        #expect(error?.part == "learner.objective.name")
        #expect(error?.reason.hasPrefix("objective \"binary:hinge\" is not supported") == true)
    }

    @Test func childOutsideTheTree() {
        var source = XGBoostTestModel()
        source.trees[0].left = [7, -1, -1]
        let error = Self.error(source)
        #expect(error?.part == "learner.gradient_booster.model.trees[0].left_children")
        #expect(error?.reason == "node 0 points to child 7, outside the tree's 3 nodes")
    }

    @Test func cycleIsRefused() {
        var source = XGBoostTestModel()
        source.trees[0].right = [0, -1, -1]
        #expect(Self.error(source)?.reason.contains("already in the tree") == true)
    }

    @Test func mismatchedCounts() {
        var source = XGBoostTestModel()
        source.trees[0].conditions = ["0.5", "1"]
        var error = Self.error(source)
        #expect(error?.part == "learner.gradient_booster.model.trees[0].split_conditions")
        #expect(error?.reason == "2 entries for the tree's 3 nodes")

        source = XGBoostTestModel()
        source.trees[0].declaredNodes = 5
        #expect(Self.error(source)?.reason == "3 nodes, tree_param.num_nodes says 5")

        source = XGBoostTestModel()
        source.declaredTrees = 4
        error = Self.error(source)
        #expect(error?.part == "learner.gradient_booster.model.trees")
        #expect(error?.reason == "1 trees, gbtree_model_param.num_trees says 4")

        source = XGBoostTestModel()
        source.treeInfo = [0, 0]
        #expect(Self.error(source)?.reason == "2 entries for 1 trees")

        source = XGBoostTestModel()
        source.objective = "multi:softprob"
        source.classCount = 3
        source.baseScore = "[0E0,0E0]"
        error = Self.error(source)
        #expect(error?.part == "learner.learner_model_param.base_score")
        #expect(error?.reason == "2 base scores for 3 outputs")
    }

    @Test func treeFeedingAMissingClass() {
        var source = XGBoostTestModel()
        source.objective = "multi:softprob"
        source.classCount = 3
        source.treeInfo = [3]
        #expect(Self.error(source)?.reason == "tree 0 feeds output 3, the model has 3")
    }

    /// Counts no file could back are refused before anything is sized by them.
    @Test func absurdCountsAreRefused() {
        var source = XGBoostTestModel()
        source.objective = "multi:softprob"
        source.classCount = 999_999_999_999
        #expect(Self.error(source)?.reason.hasSuffix("are more outputs than the file holds") == true)

        let multiTarget = XGBoostTestModel().json
            .replacingOccurrences(of: "\"num_target\": \"1\"", with: "\"num_target\": \"2\"")
            .replacingOccurrences(of: "\"size_leaf_vector\": \"1\"", with: "\"size_leaf_vector\": \"2\"")
            .replacingOccurrences(of: "\"right_children\": [2, -1, -1]", with: "\"right_children\": [2, 0, \(Int.max)]")
            .replacingOccurrences(of: "\"base_weights\"", with: "\"leaf_weights\": [1, 2, 3, 4], \"base_weights\"")
        let error = Self.error(Array(multiTarget.utf8))
        #expect(error?.reason == "leaf 2 points to leaf_weights row \(Int.max), outside the 2 rows")
    }

    @Test func featureOutsideTheModel() {
        var source = XGBoostTestModel()
        source.trees[0].features = [2, 0, 0]
        #expect(Self.error(source)?.reason == "node 0 splits on feature 2, the model has 2")
    }

    @Test func baseScoreOutsideTheLink() {
        var source = XGBoostTestModel()
        source.objective = "binary:logistic"
        source.baseScore = "[1.5E0]"
        #expect(Self.error(source)?.reason == "base score 1.5 must be a probability in [0, 1] for this objective")
        source.baseScore = "[abc]"
        #expect(Self.error(source)?.part == "learner.learner_model_param.base_score")
    }

    @Test func linearBoosterIsRefused() {
        var source = XGBoostTestModel()
        source.booster = "gblinear"
        #expect(Self.error(source)?.reason.contains("gblinear is not a tree ensemble") == true)
    }

    @Test func ubjsonGetsAHint() {
        let ubjson: [UInt8] =
            [UInt8(ascii: "{"), UInt8(ascii: "L")] + [0, 0, 0, 0, 0, 0, 0, 7] + Array("learner".utf8)
        let error = Self.error(ubjson, file: "model.ubj")
        #expect(error?.file == "model.ubj")
        #expect(error?.reason.contains("looks like UBJSON") == true)
        #expect(Self.error(Array("{\"learner\": ".utf8))?.reason.contains("UBJSON") == false)
    }

    @Test func notAnObject() {
        #expect(Self.error(Array("[1, 2]".utf8))?.reason == "an XGBoost model is a JSON object")
        #expect(Self.error(Array("{}".utf8))?.reason == "missing member \"learner\"")
    }

    /// Cut anywhere, the file is refused with the file's name, never loaded half.
    @Test func truncationIsAlwaysAnError() throws {
        let fixture = try #require(Self.fixtures.first)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture.modelPath)))
        var offsets = Array(stride(from: 0, to: bytes.count, by: max(1, bytes.count / 300)))
        offsets += (1...64).map { bytes.count - $0 }
        for offset in offsets {
            let error = Self.error(Array(bytes[..<offset]), file: "cut.json")
            #expect(error?.file == "cut.json", "cut at \(offset)")
            #expect(error?.reason.isEmpty == false)
        }
    }

    /// One byte changed anywhere: the file loads (and predicts) or is refused with a reason;
    /// it never crashes or hangs.
    @Test func corruptionNeverCrashes() throws {
        var rng = CompiledForestTests.Generator(state: 11)
        let replacements = Array("0123456789-.eE,:[]{}\" x".utf8)
        for fixture in Self.fixtures {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture.modelPath)))
            for _ in 0..<150 {
                var corrupt = bytes
                corrupt[Int.random(in: 0..<bytes.count, using: &rng)] = replacements.randomElement(using: &rng)!
                do {
                    let model = try XGBoostLoader.load(bytes: corrupt, file: "corrupt.json")
                    for row in fixture.inputs.prefix(4) where row.count == model.featureCount {
                        _ = CompiledForest(model).predict(row: row)
                    }
                } catch {
                    #expect(error.file == "corrupt.json")
                    #expect(!error.reason.isEmpty)
                }
            }
        }
    }
}
