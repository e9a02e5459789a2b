/// The one path a forest graph may take: the graph input, optionally through Identity and
/// Cast, into a single tree-ensemble node, whose outputs may pass through Identity, Cast and
/// ZipMap to the graph outputs. That is what skl2onnx and onnxmltools write; any other
/// operator would change the answer in a way the engine does not reproduce, so it is an error.
struct ONNXGraphPlan {
    var inputName: String
    /// The feature dimension of the input's declared shape, when it is a number.
    var declaredFeatureCount: Int?
    /// The element type the tree node receives, after any Cast on the way.
    var treeElementType: ONNXElementType
    var treeNodeIndex: Int
    var treeOperator: ONNXEnsemble.Operator
    /// ZipMap nodes after the probabilities, with the labels they name, checked against the
    /// classifier's own once those are read.
    var zipMaps: [(part: String, labels: ClassLabels)] = []
    /// Casts applied to the label output, as TensorProto data types.
    var labelCasts: [(part: String, to: Int32)] = []

    /// More features than any tree model has; a larger shape is a corrupt file.
    static let featureLimit: Int64 = 1 << 24

    private enum Value {
        case input(ONNXElementType)
        case label
        case scores
        case zipped
    }

    init(graph: ONNXProto.Graph, file: String) throws(ForestLoadError) {
        func fail(_ part: String, _ reason: String) -> ForestLoadError {
            ForestLoadError(file: file, part: part, reason: reason)
        }
        guard graph.inputs.count == 1, let input = graph.inputs.first else {
            throw fail("graph", "the graph has \(graph.inputs.count) inputs; a forest model reads one feature tensor")
        }
        let inputPart = "graph input '\(input.name)'"
        guard let type = input.elementType.flatMap(ONNXElementType.init(dataType:)) else {
            let name = input.elementType.map(ONNXProto.DataType.name) ?? "no tensor type"
            throw fail(inputPart, "has \(name), expected a FLOAT or DOUBLE tensor")
        }
        if let dims = input.dims {
            guard dims.count == 2 else {
                throw fail(inputPart, "has \(dims.count) dimensions, expected 2 ([rows, features])")
            }
            if let features = dims[1] {
                guard features > 0, features <= Self.featureLimit else {
                    throw fail(inputPart, "declares \(features) features, expected 1 to \(Self.featureLimit)")
                }
                declaredFeatureCount = Int(features)
            }
        }
        inputName = input.name
        treeElementType = type
        treeNodeIndex = -1
        treeOperator = .regressor

        var values: [String: Value] = [input.name: .input(type)]
        for (index, node) in graph.nodes.enumerated() {
            let part = NodeAttributes.describe(node, index: index)
            let inputs = node.inputs.filter { !$0.isEmpty }
            func source(_ position: Int) throws(ForestLoadError) -> Value {
                guard position < inputs.count, let value = values[inputs[position]] else {
                    let name = position < inputs.count ? "'\(inputs[position])'" : "nothing"
                    throw fail(part, "reads \(name), which is neither the graph input nor a tree output")
                }
                return value
            }
            if let op = Self.treeOperator(node) {
                guard treeNodeIndex < 0 else {
                    throw fail(part, "is a second tree-ensemble node (the first is graph node \(treeNodeIndex)); "
                        + "the engine runs one per model")
                }
                guard inputs.count == 1, case .input(let type) = try source(0) else {
                    throw fail(part, "must read the graph input (through Cast or Identity only)")
                }
                treeNodeIndex = index
                treeOperator = op
                treeElementType = type
                let produced: [Value] = op == .classifier ? [.label, .scores] : [.scores]
                guard node.outputs.count == produced.count else {
                    throw fail(part, "has \(node.outputs.count) outputs, expected \(produced.count)")
                }
                for (name, value) in zip(node.outputs, produced) where !name.isEmpty { values[name] = value }
                continue
            }
            let value: Value
            switch (node.domain, node.opType) {
            case ("", "Identity"), ("ai.onnx", "Identity"):
                value = try source(0)
            case ("", "Cast"), ("ai.onnx", "Cast"):
                let to = try NodeAttributes(node: node, index: index, file: file).int("to") ?? 0
                value = try cast(try source(0), to: Int32(truncatingIfNeeded: to), part: part, fail: fail)
            case ("ai.onnx.ml", "ZipMap"):
                guard case .scores = try source(0), treeOperator == .classifier else {
                    throw fail(part, "must read the classifier's probabilities")
                }
                let attributes = try NodeAttributes(node: node, index: index, file: file)
                let strings = try attributes.strings("classlabels_strings")
                let integers = try attributes.ints("classlabels_int64s")
                zipMaps.append((part, strings.isEmpty ? .integers(integers) : .strings(strings)))
                value = .zipped
            default:
                let domain = node.domain.isEmpty ? "ai.onnx" : node.domain
                throw fail(part, "is not supported (\(domain) \(node.opType)): a forest graph may hold one "
                    + "tree-ensemble node with only Cast, Identity and ZipMap around it")
            }
            guard node.outputs.count == 1 else {
                throw fail(part, "has \(node.outputs.count) outputs, expected 1")
            }
            values[node.outputs[0]] = value
        }
        guard treeNodeIndex >= 0 else {
            throw fail("graph", "holds no ai.onnx.ml TreeEnsembleClassifier, TreeEnsembleRegressor or TreeEnsemble node")
        }
        guard !graph.outputs.isEmpty else { throw fail("graph", "the graph has no outputs") }
        for output in graph.outputs {
            switch values[output.name] {
            case .label?, .scores?, .zipped?: continue
            case .input?: throw fail("graph output '\(output.name)'", "is the input, not a tree output")
            case nil: throw fail("graph output '\(output.name)'", "is computed by no node of the graph")
            }
        }
    }

    private static func treeOperator(_ node: ONNXProto.Node) -> ONNXEnsemble.Operator? {
        guard node.domain == "ai.onnx.ml" else { return nil }
        return ONNXEnsemble.Operator(rawValue: node.opType)
    }

    /// Casts that keep the answer: the input to FLOAT (the rounding float models apply anyway)
    /// or DOUBLE to DOUBLE, the label to INT64 or STRING, scores to FLOAT or DOUBLE.
    private mutating func cast(
        _ value: Value, to: Int32, part: String, fail: (String, String) -> ForestLoadError
    ) throws(ForestLoadError) -> Value {
        let target = ONNXProto.DataType.name(to)
        switch value {
        case .input(let type):
            if to == ONNXProto.DataType.float { return .input(.float) }
            if to == ONNXProto.DataType.double, type == .double { return .input(.double) }
            throw fail(part, "casts the \(type == .float ? "FLOAT" : "DOUBLE") input to \(target); "
                + "only casts to FLOAT, or DOUBLE to DOUBLE, are supported")
        case .label:
            guard to == ONNXProto.DataType.int64 || to == 8 else {
                throw fail(part, "casts the label to \(target), expected INT64 or STRING")
            }
            labelCasts.append((part, to))
            return .label
        case .scores:
            guard to == ONNXProto.DataType.float || to == ONNXProto.DataType.double else {
                throw fail(part, "casts the scores to \(target), expected FLOAT or DOUBLE")
            }
            return .scores
        case .zipped:
            throw fail(part, "casts ZipMap's output, which is not a tensor")
        }
    }
}
