/// Loads an ONNX-ML tree ensemble (`TreeEnsembleClassifier` / `TreeEnsembleRegressor` at
/// ai.onnx.ml 1-4, `TreeEnsemble` at 5) into a `ForestModel` that answers as onnxruntime does.
///
/// onnxruntime is the reference, quirks included: it compares and sums in the type of the
/// tensor the tree receives (a FLOAT input is compared as float, a DOUBLE input against the
/// float thresholds widened to double), adds base values after the trees, and has its own
/// rules for binary classifiers and single-target transforms. Anything whose answer the
/// engine would not reproduce (another operator on the path, MIN/MAX aggregation, layouts
/// onnxruntime itself mishandles) is a `ForestLoadError` naming the file, node and attribute.
enum ONNXForestLoader {
    static func load(bytes: [UInt8], file: String) throws(ForestLoadError) -> ForestModel {
        let proto: ONNXProto.Model
        do {
            proto = try ONNXProto.Model(decoding: bytes)
        } catch {
            throw ForestLoadError(
                file: file, part: (["model"] + error.path).joined(separator: "."),
                reason: "\(error.reason) (byte \(error.offset)); the file is truncated or not ONNX")
        }
        guard let graph = proto.graph else {
            throw ForestLoadError(file: file, part: "model", reason: "holds no graph; the file is not an ONNX model")
        }
        let plan = try ONNXGraphPlan(graph: graph, file: file)
        let node = graph.nodes[plan.treeNodeIndex]
        let attributes = try NodeAttributes(node: node, index: plan.treeNodeIndex, file: file)
        let opset = try mlOpset(proto, file: file)
        guard plan.treeOperator.opsetRange.contains(opset) else {
            let range = plan.treeOperator.opsetRange
            let versions = range.upperBound == Int64.max ? "\(range.lowerBound) or later" : "\(range.lowerBound) to \(range.upperBound)"
            throw attributes.fail("is not defined at ai.onnx.ml opset \(opset) (onnxruntime runs it at \(versions))")
        }

        let type = plan.treeElementType
        let ensemble =
            plan.treeOperator == .treeEnsemble
            ? try readTreeEnsemble(attributes, type: type)
            : try readLegacy(attributes, op: plan.treeOperator, opset: opset, type: type)
        try check(plan, against: ensemble.classLabels, file: file)

        let budget = max(1 << 20, ensemble.nodes.nodes.count * 16)
        let trees = try ensemble.nodes.layOutTrees(nodeBudget: budget) { reason throws(Never) in attributes.fail(reason) }
        let choice = try chooseHead(ensemble, trees: trees, attributes: attributes)

        var featureCount = max(ensemble.featureBound, 1)
        if let declared = plan.declaredFeatureCount {
            guard ensemble.featureBound <= declared else {
                throw attributes.fail(
                    "nodes_featureids",
                    "a split reads feature \(ensemble.featureBound - 1), but the graph input declares \(declared) features")
            }
            featureCount = declared
        }
        let model = ForestModel(
            format: .onnx, featureCount: featureCount, inputName: plan.inputName, outputCount: choice.outputCount,
            trees: trees, baseScores: choice.baseScores, baseTiming: .afterTrees, aggregation: choice.aggregation,
            splitPrecision: type.precision, accumulation: type.precision, head: choice.head)
        try model.validate(file: file)
        return model
    }

    /// The ai.onnx.ml opset the model imports; skl2onnx repeats imports, which is harmless
    /// as long as they agree.
    private static func mlOpset(_ model: ONNXProto.Model, file: String) throws(ForestLoadError) -> Int64 {
        let versions = Set(model.opsetImports.filter { $0.domain == "ai.onnx.ml" }.map(\.version))
        guard let version = versions.first else {
            throw ForestLoadError(file: file, part: "model opset_import", reason: "imports no ai.onnx.ml opset")
        }
        guard versions.count == 1 else {
            throw ForestLoadError(
                file: file, part: "model opset_import",
                reason: "imports ai.onnx.ml at versions \(versions.sorted().map(String.init).joined(separator: " and "))")
        }
        return version
    }

    /// ZipMap and label Casts after the classifier must agree with its labels.
    private static func check(_ plan: ONNXGraphPlan, against labels: ClassLabels?, file: String) throws(ForestLoadError) {
        guard let labels else { return }
        for zipMap in plan.zipMaps where zipMap.labels != labels {
            throw ForestLoadError(
                file: file, part: zipMap.part, reason: "names class labels that differ from the classifier's")
        }
        for cast in plan.labelCasts {
            let integers: Bool
            if case .integers = labels { integers = true } else { integers = false }
            guard integers == (cast.to == ONNXProto.DataType.int64) else {
                throw ForestLoadError(
                    file: file, part: cast.part,
                    reason: "casts \(integers ? "integer" : "string") labels to \(ONNXProto.DataType.name(cast.to))")
            }
        }
    }
}
