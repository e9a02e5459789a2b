import Testing

@testable import LocalModels

/// Malformed and unsupported ONNX models and the located errors they raise: the file, the
/// node and attribute (with the element index where there is one), and why.
@Suite struct ONNXLoaderErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var model: @Sendable () -> ONNXTestModel
        var part: String
        var reason: String

        var testDescription: String { name }
    }

    static let regressorNode = "node 'TreeEnsembleRegressor' (graph node 0)"
    static let treeEnsembleNode = "node 'TreeEnsemble' (graph node 0)"

    static let cases: [Case] = [
        Case(
            name: "a list one element short", model: { .regressor(.ints("nodes_featureids", [0, 0])) },
            part: "\(regressorNode) attribute nodes_featureids", reason: "has 2 values, but nodes_modes has 3"),
        Case(
            name: "an unknown mode", model: { .regressor(.strings("nodes_modes", ["BRANCH_LEQ", "BRANCH_FOO", "LEAF"])) },
            part: "\(regressorNode) attribute nodes_modes[1]", reason: "unknown mode 'BRANCH_FOO'"),
        Case(
            name: "a child that is not there", model: { .regressor(.ints("nodes_falsenodeids", [7, 0, 0])) },
            part: "\(regressorNode) attribute nodes_falsenodeids[0]", reason: "names node 7, which tree 0 does not have"),
        Case(
            name: "a cycle",
            model: {
                .regressor(
                    .strings("nodes_modes", ["BRANCH_LEQ", "BRANCH_LEQ", "LEAF"]), .ints("nodes_truenodeids", [1, 0, 0]),
                    .ints("target_nodeids", [2, 2]))
            },
            part: regressorNode, reason: "is its own descendant"),
        Case(
            name: "a NaN threshold", model: { .regressor(.floats("nodes_values", [.nan, 0, 0])) },
            part: "\(regressorNode) attribute nodes_values[0]", reason: "the threshold of a split is NaN"),
        Case(
            name: "an infinite leaf weight", model: { .treeEnsemble(.tensor("leaf_weights", dataType: 1, values: [1, .infinity])) },
            part: "\(treeEnsembleNode) attribute leaf_weights[1]", reason: "inf is not a finite weight"),
        Case(
            name: "a node id listed twice", model: { .regressor(.ints("nodes_nodeids", [0, 1, 1])) },
            part: "\(regressorNode) attribute nodes_nodeids[2]", reason: "tree 0 lists node 1 twice"),
        Case(
            name: "a node its tree's root does not reach",
            model: {
                .regressor(
                    .ints("nodes_treeids", [0, 0, 0, 0]), .ints("nodes_nodeids", [0, 1, 2, 3]),
                    .ints("nodes_featureids", [0, 0, 0, 0]), .strings("nodes_modes", ["BRANCH_LEQ", "LEAF", "LEAF", "LEAF"]),
                    .floats("nodes_values", [0.5, 0, 0, 0]), .ints("nodes_truenodeids", [1, 0, 0, 0]),
                    .ints("nodes_falsenodeids", [2, 0, 0, 0]))
            },
            part: "\(regressorNode) attribute nodes_nodeids[3]", reason: "cannot be reached from the root of tree 0"),
        Case(
            name: "a tree listed in two runs",
            model: {
                .regressor(
                    .ints("nodes_treeids", [0, 1, 0, 0]), .ints("nodes_nodeids", [0, 0, 1, 2]),
                    .ints("nodes_featureids", [0, 0, 0, 0]), .strings("nodes_modes", ["BRANCH_LEQ", "LEAF", "LEAF", "LEAF"]),
                    .floats("nodes_values", [0.5, 0, 0, 0]), .ints("nodes_truenodeids", [1, 0, 0, 0]),
                    .ints("nodes_falsenodeids", [2, 0, 0, 0]), .ints("target_treeids", [0, 0, 1]),
                    .ints("target_nodeids", [1, 2, 0]), .ints("target_ids", [0, 0, 0]), .floats("target_weights", [1, 2, 4]))
            },
            part: "\(regressorNode) attribute nodes_treeids[2]", reason: "the nodes of tree 0 are not listed together"),
        Case(
            name: "a target id beyond n_targets", model: { .regressor(.ints("target_ids", [0, 1])) },
            part: "\(regressorNode) attribute target_ids[1]", reason: "1 is not below the 1 outputs"),
        Case(
            name: "MIN aggregation", model: { .regressor(.string("aggregate_function", "MIN")) },
            part: "\(regressorNode) attribute aggregate_function", reason: "MIN is not supported"),
        Case(
            name: "two base values for one target", model: { .regressor(.floats("base_values", [1, 2])) },
            part: "\(regressorNode) attribute base_values", reason: "has 2 values for 1 targets"),
        Case(
            name: "an unknown transform", model: { .regressor(.string("post_transform", "SQUARE")) },
            part: "\(regressorNode) attribute post_transform", reason: "unknown transform 'SQUARE'"),
        Case(
            name: "a *_as_tensor attribute before opset 3",
            model: { .regressor(.tensor("nodes_values_as_tensor", dataType: 1, values: [0.5, 0, 0])) },
            part: "\(regressorNode) attribute nodes_values_as_tensor",
            reason: "is not an attribute of TreeEnsembleRegressor at ai.onnx.ml opset 1"),
        Case(
            name: "a double tensor on a float tree",
            model: {
                var model = ONNXTestModel.regressor(.tensor("nodes_values_as_tensor", dataType: 11, values: [0.5, 0, 0]))
                model.remove("nodes_values")
                model.opsets = [("ai.onnx.ml", 3)]
                return model
            },
            part: "\(regressorNode) attribute nodes_values_as_tensor", reason: "onnxruntime requires the same type"),
        Case(
            name: "tensor data in an external file",
            model: {
                var model = ONNXTestModel.regressor(
                    .tensor("nodes_values_as_tensor", dataType: 1, values: [0.5, 0, 0], external: true))
                model.remove("nodes_values")
                model.opsets = [("ai.onnx.ml", 3)]
                return model
            },
            part: "\(regressorNode) attribute nodes_values_as_tensor", reason: "stored in an external file"),
        Case(
            name: "no ai.onnx.ml opset", model: { var model = ONNXTestModel.regressor(); model.opsets = [("", 21)]; return model },
            part: "model opset_import", reason: "imports no ai.onnx.ml opset"),
        Case(
            name: "a legacy operator at opset 5",
            model: { var model = ONNXTestModel.regressor(); model.opsets = [("ai.onnx.ml", 5)]; return model },
            part: regressorNode, reason: "is not defined at ai.onnx.ml opset 5 (onnxruntime runs it at 1 to 4)"),
        Case(
            name: "TreeEnsemble at opset 4",
            model: { var model = ONNXTestModel.treeEnsemble(); model.opsets = [("ai.onnx.ml", 4)]; return model },
            part: treeEnsembleNode, reason: "is not defined at ai.onnx.ml opset 4 (onnxruntime runs it at 5 or later)"),
        Case(
            name: "a split beyond the declared features", model: { .regressor(.ints("nodes_featureids", [3, 0, 0])) },
            part: "\(regressorNode) attribute nodes_featureids",
            reason: "a split reads feature 3, but the graph input declares 2 features"),
        Case(
            name: "a second tree node",
            model: {
                var model = ONNXTestModel.regressor()
                var second = model.nodes[0]
                second.inputs = ["input"]
                second.outputs = ["other"]
                model.nodes.append(second)
                return model
            },
            part: "node 'TreeEnsembleRegressor' (graph node 1)", reason: "is a second tree-ensemble node"),
        Case(
            name: "another operator after the trees",
            model: {
                var model = ONNXTestModel.regressor()
                model.nodes[0].outputs = ["raw"]
                model.nodes.append(.init(opType: "Normalizer", inputs: ["raw"], outputs: ["variable"]))
                return model
            },
            part: "node 'Normalizer' (graph node 1)", reason: "is not supported (ai.onnx.ml Normalizer)"),
        Case(
            name: "two graph inputs",
            model: { var model = ONNXTestModel.regressor(); model.inputs.append(("other", 1, 2)); return model },
            part: "graph", reason: "the graph has 2 inputs"),
        Case(
            name: "an INT64 input", model: { var model = ONNXTestModel.regressor(); model.inputs = [("input", 7, 2)]; return model },
            part: "graph input 'input'", reason: "has INT64, expected a FLOAT or DOUBLE tensor"),
        Case(
            name: "a binary classifier scoring class 1", model: { .binaryClassifier(.ints("class_ids", [1, 1])) },
            part: "node 'TreeEnsembleClassifier' (graph node 0) attribute class_ids", reason: "name class 1"),
        Case(
            name: "PROBIT on a binary classifier", model: { .binaryClassifier(.string("post_transform", "PROBIT")) },
            part: "node 'TreeEnsembleClassifier' (graph node 0) attribute post_transform",
            reason: "onnxruntime writes only one probability column"),
        Case(
            name: "a class some leaves leave unscored",
            model: {
                .binaryClassifier(.ints("classlabels_int64s", [0, 1, 2]), .ints("class_ids", [1, 2]))
            },
            part: "node 'TreeEnsembleClassifier' (graph node 0) attribute class_ids",
            reason: "class 0 is fed by only some leaves of every tree"),
        Case(
            name: "a large set with a fractional member",
            model: {
                .treeEnsemble(
                    .tensor("nodes_modes", dataType: 2, values: [6]),
                    .tensor("membership_values", dataType: 1, values: [1.5, 40, .nan]))
            },
            part: "\(treeEnsembleNode) attribute membership_values", reason: "must hold integers from 0 to 2^31-2"),
        Case(
            name: "a BRANCH_MEMBER node without a set",
            model: { .treeEnsemble(.tensor("nodes_modes", dataType: 2, values: [6])) },
            part: "\(treeEnsembleNode) attribute membership_values", reason: "holds 0 sets for 1 BRANCH_MEMBER nodes"),
        Case(
            name: "a leaf index beyond the leaves", model: { .treeEnsemble(.ints("nodes_falsenodeids", [2])) },
            part: "\(treeEnsembleNode) attribute nodes_falsenodeids[0]", reason: "2 is not one of the 2 leaves"),
        Case(
            name: "TreeEnsemble MAX aggregation", model: { .treeEnsemble(.int("aggregate_function", 3)) },
            part: "\(treeEnsembleNode) attribute aggregate_function", reason: "MIN and MAX are not supported"),
        Case(
            name: "nodes_modes of the wrong type",
            model: { .treeEnsemble(.tensor("nodes_modes", dataType: 1, values: [0])) },
            part: "\(treeEnsembleNode) attribute nodes_modes", reason: "is a FLOAT tensor, expected UINT8"),
    ]

    @Test(arguments: cases)
    func raisesALocatedError(_ testCase: Case) {
        let file = "bad/\(testCase.name).onnx"
        do throws(ForestLoadError) {
            let model = try ONNXForestLoader.load(bytes: testCase.model().bytes(), file: file)
            Issue.record("loaded: \(model.trees.count) trees")
        } catch {
            #expect(error.file == file)
            #expect(error.part == testCase.part)
            #expect(error.reason.contains(testCase.reason), "reason: \(error.reason)")
            #expect(error.description.hasPrefix("\(file): \(testCase.part): "))
        }
    }

    @Test func notOnnxAtAll() {
        for (bytes, reason) in [(Array("{\"learner\": {}}".utf8), "the file is truncated or not ONNX"), ([0x08, 0x0A], "holds no graph")] {
            do throws(ForestLoadError) {
                _ = try ONNXForestLoader.load(bytes: bytes, file: "x.onnx")
                Issue.record("loaded \(bytes)")
            } catch {
                #expect(error.file == "x.onnx")
                #expect(error.reason.contains(reason), "\(error)")
            }
        }
    }
}
