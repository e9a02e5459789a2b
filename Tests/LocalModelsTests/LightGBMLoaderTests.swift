import Foundation
import Testing

@testable import LocalModels

/// `LightGBMLoader` against what lightgbm 4.7 answered for the committed fixtures, against a
/// transcription of `Tree::NumericalDecision` for every missing type, and against
/// hand-written models that are wrong in one place each.
@Suite struct LightGBMLoaderTests {
    static let fixtures = ForestFixture.all(.lightgbm)

    static func bytes(_ fixture: ForestFixture) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture.modelPath)))
    }

    static func load(_ fixture: ForestFixture) throws -> ForestModel {
        try LightGBMLoader.load(bytes: bytes(fixture), file: fixture.name)
    }

    static func load(_ model: LightGBMTestModel) throws(ForestLoadError) -> ForestModel {
        try LightGBMLoader.load(bytes: model.bytes, file: "hand.txt")
    }

    static func error(_ model: LightGBMTestModel) -> ForestLoadError? {
        error(model.bytes)
    }

    static func error(_ bytes: [UInt8], file: String = "hand.txt") -> ForestLoadError? {
        loadError { () throws(ForestLoadError) in try LightGBMLoader.load(bytes: bytes, file: file) }
    }

    @Test func fixturesAreCommitted() {
        #expect(Self.fixtures.count >= 8)
    }

    @Test(arguments: fixtures)
    func matchesLightGBM(_ fixture: ForestFixture) throws {
        let model = try Self.load(fixture)
        #expect(model.featureCount == fixture.featureCount)
        #expect(fixture.mismatchesOnEveryPath(model) == [])
    }

    /// LightGBM sums leaves in double in tree order, as the model does: the raw scores
    /// (`raw_score=True`) agree bit for bit. A random forest's raw score is the undivided sum;
    /// `predict` divides it by the iteration count, once, as the model does.
    @Test(arguments: fixtures)
    func rawScoresAreExact(_ fixture: ForestFixture) throws {
        let model = try Self.load(fixture)
        let divisor = model.aggregation == .average ? Double(model.trees.count) : 1
        let margins = try XGBoostFixtureMargins.read(fixture).map { $0.map { $0 / divisor } }
        #expect(margins.count == fixture.inputs.count)
        let reference = ReferenceEvaluator(model: model)
        var differing: [String] = []
        for (row, expected) in zip(fixture.inputs, margins) where reference.scores(row: row) != expected {
            differing.append("\(row): \(reference.scores(row: row)), expected \(expected)")
        }
        #expect(differing == [])
    }

    /// Numeric trees compile, whatever their missing types, except where a Zero split's
    /// default side cannot be folded into its threshold; only those trees and categorical
    /// ones fall back to the reference walk.
    @Test(arguments: fixtures)
    func numericTreesCompile(_ fixture: ForestFixture) throws {
        let model = try Self.load(fixture)
        let plans: [TreePlan] =
            switch CompiledForest(model).kernel {
            case .float64(let table): table.trees
            default: []
            }
        #expect(plans.count == model.trees.count, "LightGBM compares and sums in float64")
        for (tree, plan) in zip(model.trees, plans) {
            let expressible = tree.nodes.allSatisfy { node in
                switch node {
                case .leaf: true
                case .split(let split): !split.zeroIsMissing
                case .categorical: false
                }
            }
            #expect(plan.isCompiled == expressible)
        }
    }

    @Test func featureNamesComeFromTheFile() throws {
        var source = LightGBMTestModel()
        source.featureNames = ["age", "income", "tenure"]
        let model = try Self.load(source)
        #expect(model.featureNames == ["age", "income", "tenure"])
        #expect(model.featureCount == 3)
        source.maxFeatureIndex = 3
        let error = Self.error(source)
        #expect(error?.part == "line 8 key feature_names")
        #expect(error?.reason == "3 names for the 4 features of max_feature_idx")
    }

    /// `Tree::NumericalDecision` as LightGBM 4 writes it, after the C API has read every
    /// `|x| <= kZeroThreshold` as 0.0; the loader's splits must agree with it everywhere.
    static func lightGBMGoesLeft(_ raw: Double, threshold: Double, decisionType: Int) -> Bool {
        let zero = Double(Float(1e-35))
        var x = raw.isNaN || abs(raw) > zero ? raw : 0
        let missingType = (decisionType >> 2) & 3
        let defaultLeft = decisionType & 2 != 0
        if x.isNaN && missingType != 2 { x = 0 }
        if (missingType == 1 && x >= -zero && x <= zero) || (missingType == 2 && x.isNaN) {
            return defaultLeft
        }
        return x <= threshold
    }

    @Test func numericSplitsFollowNumericalDecision() throws {
        let zero = Double(Float(1e-35))
        let near: [Double] = [
            0, -0.0, zero, -zero, 1e-35, -1e-35, 1e-36, -1e-36, 5e-324, -5e-324, 2e-35, -2e-35, 1, -1,
        ]
        let thresholds = near + near.map(\.nextUp) + near.map(\.nextDown) + [.infinity, -.infinity, 1e300]
        let rows = thresholds + [.nan]
        for decisionType in [0, 2, 4, 6, 8, 10] {
            for threshold in thresholds {
                var source = LightGBMTestModel()
                source.trees = [.stump(threshold: "\(threshold)", decisionType: decisionType, low: "1", high: "2")]
                let model = try Self.load(source)
                let compiled = CompiledForest(model)
                for x in rows {
                    let expected: Double =
                        Self.lightGBMGoesLeft(x, threshold: threshold, decisionType: decisionType) ? 1 : 2
                    let context = "decision_type \(decisionType), threshold \(threshold), x \(x)"
                    #expect(
                        ReferenceEvaluator(model: model).predict(row: [x, 0]) == .regression(values: [expected]),
                        "\(context)"
                    )
                    #expect(compiled.predict(row: [x, 0]) == .regression(values: [expected]), "\(context)")
                }
            }
        }
    }

    /// Bit `k` of word `w` is category `32w + k`, sent left. NaN and negative integers go
    /// right; (-1, 0) truncates to category 0, as `static_cast<int>` does.
    @Test func categoricalSplitsReadTheBitset() throws {
        var source = LightGBMTestModel()
        source.trees[0]["num_cat"] = "1"
        source.trees[0]["threshold"] = "0"
        source.trees[0]["decision_type"] = "1"
        source.trees[0]["cat_boundaries"] = "0 2"
        source.trees[0]["cat_threshold"] = "9 2"  // categories 0, 3 and 33
        let model = try Self.load(source)
        let cases: [(Double, Double)] = [
            (0, 1), (-0.5, 1), (3, 1), (3.9, 1), (33, 1), (1, 2), (2, 2), (32, 2), (34, 2), (-1, 2), (.nan, 2),
            (1e10, 2), (-1e10, 2), (.infinity, 2),
        ]
        for (x, expected) in cases {
            #expect(
                ReferenceEvaluator(model: model).predict(row: [x, 0]) == .regression(values: [expected]),
                "x = \(x)"
            )
            #expect(CompiledForest(model).predict(row: [x, 0]) == .regression(values: [expected]), "x = \(x)")
        }
        source.trees[0]["threshold"] = "1"
        #expect(Self.error(source)?.reason == "categorical node 0 names bitset 1.0, the tree has 1")
        source.trees[0]["threshold"] = "0"
        source.trees[0]["cat_boundaries"] = "0 3"
        #expect(Self.error(source)?.part == "Tree=0 line 29 key cat_boundaries")
    }

    @Test func objectivesPickTheHead() throws {
        var source = LightGBMTestModel()
        let heads: [(String, Int, Head)] = [
            (
                "binary sigmoid:0.5", 1,
                .classification(
                    labels: .integers([0, 1]),
                    scores: .binary(.logistic(scale: 0.5), negative: .complement, positiveAbove: 0)
                )
            ),
            (
                "multiclassova num_class:2 sigmoid:2", 2,
                .classification(labels: .integers([0, 1]), scores: .perClass(.logistic(scale: 2)))
            ),
            ("cross_entropy", 1, .regression(.logistic(scale: 1))),
            ("poisson", 1, .regression(.exponential)),
            ("huber", 1, .regression(.identity)),
        ]
        for (objective, classes, head) in heads {
            source.objective = objective
            source.classCount = classes
            source.trees = Array(repeating: .stump(threshold: "0.5", low: "1", high: "2"), count: classes)
            let model = try Self.load(source)
            #expect(model.outputCount == classes)
            #expect("\(model.head)" == "\(head)", "\(objective)")
        }
    }

    @Test func unknownObjectiveIsNamed() {
        var source = LightGBMTestModel()
        source.objective = "cross_entropy_lambda"
        let error = Self.error(source)
        #expect(error?.file == "hand.txt")
        #expect(error?.part == "line 7 key objective")
        #expect(
            error?.reason.hasPrefix("objective \"cross_entropy_lambda\" is not supported; supported: binary") == true
        )
        source.objective = "regression sqrt"
        #expect(Self.error(source)?.reason == "regression with sqrt (trained with reg_sqrt) is not supported")
        source.objective = "binary sigmoid:-1"
        #expect(Self.error(source)?.reason == "sigmoid:-1 must be a positive number")
        source.objective = "binary scale:2"
        #expect(Self.error(source)?.reason == "objective parameter \"scale\" is not understood")
    }

    @Test func childOutsideTheTree() {
        var source = LightGBMTestModel()
        source.trees[0]["right_child"] = "-3"
        var error = Self.error(source)
        #expect(error?.part == "Tree=0 line 20 key right_child")
        #expect(error?.reason == "node 0 points to leaf 2, the tree has 2")
        source.trees[0]["right_child"] = "-1"
        #expect(Self.error(source)?.reason == "node 0 points to leaf 0, already reached from another node")
        source.trees[0]["right_child"] = "0"
        error = Self.error(source)
        #expect(error?.reason == "node 0 points to node 0 again (a cycle or a shared child)")
    }

    @Test func countsMustAgree() {
        var source = LightGBMTestModel()
        source.trees[0]["num_leaves"] = "3"
        var error = Self.error(source)
        #expect(error?.part == "Tree=0 line 21 key leaf_value")
        #expect(error?.reason == "2 values where 3 are expected")

        source = LightGBMTestModel()
        source.trees[0]["threshold"] = "0.5 0.7"
        #expect(Self.error(source)?.reason == "2 values where 1 are expected")

        source = LightGBMTestModel()
        source.treeSizes = [100, 100]
        error = Self.error(source)
        #expect(error?.part == "line 10 key tree_sizes")
        #expect(error?.reason == "tree_sizes lists 2 trees, the file has 1")

        source = LightGBMTestModel()
        source.objective = "multiclass num_class:3"
        source.classCount = 3
        source.trees = Array(repeating: .stump(threshold: "0.5", low: "1", high: "2"), count: 4)
        #expect(Self.error(source)?.reason == "4 trees is not a whole number of iterations of 3 trees")

        source.objective = "multiclass num_class:2"
        #expect(
            Self.error(source)?.reason == "num_class 3 and num_tree_per_iteration 3 do not fit the objective's 2 scores"
        )

        source.objective = "multiclass num_class:999999999999"
        source.classCount = 999_999_999_999
        #expect(Self.error(source)?.reason == "4 trees is not a whole number of iterations of 999999999999 trees")
    }

    @Test func malformedValuesAreLocated() {
        var source = LightGBMTestModel()
        source.trees[0]["threshold"] = "0.5x"
        var error = Self.error(source)
        #expect(error?.part == "Tree=0 line 17 key threshold")
        #expect(error?.reason == "value 0 is \"0.5x\", not a number")

        source = LightGBMTestModel()
        source.trees[0]["split_feature"] = "2"
        #expect(Self.error(source)?.reason == "node 0 splits on feature 2, the model has 2")

        source = LightGBMTestModel()
        source.trees[0]["decision_type"] = "14"
        #expect(Self.error(source)?.reason == "node 0 has decision type 14, not one LightGBM writes")

        source = LightGBMTestModel()
        source.trees[0]["threshold"] = nil
        error = Self.error(source)
        #expect(error?.part == "Tree=0 (line 12)")
        #expect(error?.reason == "no threshold= line")

        source = LightGBMTestModel()
        source.trees[0].lines.append(("leaf_value", "1 2"))
        #expect(Self.error(source)?.reason == "key leaf_value appears twice (first on line 21)")
    }

    @Test func unsupportedModelsAreRefused() {
        var source = LightGBMTestModel()
        source.trees[0]["is_linear"] = "1"
        #expect(Self.error(source)?.reason == "linear trees (linear_tree=true) are not supported")

        source = LightGBMTestModel()
        source.objective = "multiclass num_class:2"
        source.classCount = 2
        source.averageOutput = true
        source.trees = Array(repeating: .stump(threshold: "0.5", low: "1", high: "2"), count: 2)
        #expect(Self.error(source)?.reason == "random forests with 2 trees per iteration are not supported")
    }

    @Test func structureIsChecked() {
        #expect(
            Self.error(Array("version=v4\n".utf8))?.reason
                == "not a LightGBM text model: it starts with \"version=v4\", not \"tree\""
        )
        var text = LightGBMTestModel().text
        text = text.replacingOccurrences(of: "Tree=0", with: "Tree=1")
        #expect(Self.error(Array(text.utf8))?.reason == "expected \"Tree=0\" or \"end of trees\", found \"Tree=1\"")
        var source = LightGBMTestModel()
        source.trees = []
        #expect(Self.error(source)?.reason == "the model has no trees")
    }

    @Test func singleLeafTreesAndWindowsLineEndings() throws {
        var source = LightGBMTestModel()
        var constant = LightGBMTestModel.Tree.stump(threshold: "0", low: "0.25", high: "0")
        constant.lines = [
            ("num_leaves", "1"), ("num_cat", "0"), ("split_feature", ""), ("threshold", ""),
            ("decision_type", ""), ("left_child", ""), ("right_child", ""), ("leaf_value", "0.25"),
            ("is_linear", "0"), ("shrinkage", "1"),
        ]
        source.trees.append(constant)
        let text = source.text.replacingOccurrences(of: "\n", with: "\r\n")
        let model = try LightGBMLoader.load(bytes: Array(text.utf8), file: "crlf.txt")
        #expect(ReferenceEvaluator(model: model).predict(row: [0, 0]) == .regression(values: [1.25]))
        #expect(CompiledForest(model).predict(row: [0.75, 0]) == .regression(values: [2.25]))
    }

    /// Cut before `end of trees`, the file is refused with a located reason; cut after it,
    /// every tree is there and it loads.
    @Test func truncationIsAlwaysAnError() throws {
        for fixture in Self.fixtures {
            let bytes = try Self.bytes(fixture)
            let marker = Array("end of trees\n".utf8)
            let start = try #require(
                (0...(bytes.count - marker.count)).first { bytes[$0..<($0 + marker.count)].elementsEqual(marker) }
            )
            // Without its newline the last line is still whole.
            let lastLineEnd = start + marker.count - 1
            var offsets = Array(stride(from: 0, to: lastLineEnd, by: max(1, lastLineEnd / 200)))
            offsets += (1...40).map { lastLineEnd - $0 }
            for offset in offsets {
                let error = Self.error(Array(bytes[..<offset]), file: "cut.txt")
                #expect(error?.file == "cut.txt", "\(fixture.name) cut at \(offset)")
                #expect(error?.part.isEmpty == false)
            }
            for offset in [lastLineEnd, (lastLineEnd + bytes.count) / 2] {
                #expect(Self.error(Array(bytes[..<offset])) == nil, "\(fixture.name) cut at \(offset)")
            }
        }
    }

    /// One byte changed anywhere: the file loads (and predicts) or is refused with a located
    /// reason; it never crashes or hangs.
    @Test func corruptionNeverCrashes() throws {
        var rng = CompiledForestTests.Generator(state: 5)
        let replacements = Array("0123456789-.e \n=:Tx".utf8)
        for fixture in Self.fixtures {
            let bytes = try Self.bytes(fixture)
            for _ in 0..<100 {
                var corrupt = bytes
                corrupt[Int.random(in: 0..<bytes.count, using: &rng)] = replacements.randomElement(using: &rng)!
                do {
                    let model = try LightGBMLoader.load(bytes: corrupt, file: "corrupt.txt")
                    for row in fixture.inputs.prefix(4) where row.count == model.featureCount {
                        _ = CompiledForest(model).predict(row: row)
                    }
                } catch {
                    #expect(error.file == "corrupt.txt")
                    #expect(!error.part.isEmpty && !error.reason.isEmpty)
                }
            }
        }
    }
}
