/// Small ONNX models written field by field for loader tests: the protobuf wire format by
/// hand, only the fields the loader reads, so a test can break exactly one of them.
struct ONNXTestModel {
    enum Attribute {
        case int(String, Int64)
        case ints(String, [Int64])
        case floats(String, [Float])
        case string(String, String)
        case strings(String, [String])
        /// A tensor of `dataType` (1 FLOAT, 2 UINT8, 11 DOUBLE) holding `values`; `external`
        /// marks its data as stored in another file.
        case tensor(String, dataType: Int32, values: [Double], external: Bool = false)

        var name: String {
            switch self {
            case .int(let name, _), .ints(let name, _), .floats(let name, _), .string(let name, _),
                .strings(let name, _), .tensor(let name, _, _, _):
                name
            }
        }
    }

    struct Node {
        var opType: String
        var domain: String = "ai.onnx.ml"
        var inputs: [String] = ["input"]
        var outputs: [String] = ["variable"]
        var attributes: [Attribute] = []
    }

    /// (name, TensorProto data type, feature dimension or nil for a symbolic one).
    var inputs: [(String, Int32, Int64?)] = [("input", 1, 2)]
    var outputs: [String] = ["variable"]
    var nodes: [Node]
    var opsets: [(String, Int64)] = [("", 21), ("ai.onnx.ml", 1)]

    /// x0 <= 0.5 ? 1.0 : 2.0 as a one-target TreeEnsembleRegressor; `changes` replace or add
    /// attributes by name.
    static func regressor(_ changes: Attribute...) -> ONNXTestModel {
        let base: [Attribute] = [
            .int("n_targets", 1),
            .ints("nodes_treeids", [0, 0, 0]), .ints("nodes_nodeids", [0, 1, 2]), .ints("nodes_featureids", [0, 0, 0]),
            .strings("nodes_modes", ["BRANCH_LEQ", "LEAF", "LEAF"]), .floats("nodes_values", [0.5, 0, 0]),
            .ints("nodes_truenodeids", [1, 0, 0]), .ints("nodes_falsenodeids", [2, 0, 0]),
            .ints("target_treeids", [0, 0]), .ints("target_nodeids", [1, 2]), .ints("target_ids", [0, 0]),
            .floats("target_weights", [1, 2]),
        ]
        return ONNXTestModel(nodes: [Node(opType: "TreeEnsembleRegressor", attributes: merge(base, changes))])
    }

    /// The same split as a two-class TreeEnsembleClassifier with one score per leaf (class 0).
    static func binaryClassifier(_ changes: Attribute...) -> ONNXTestModel {
        let base: [Attribute] = [
            .ints("nodes_treeids", [0, 0, 0]), .ints("nodes_nodeids", [0, 1, 2]), .ints("nodes_featureids", [0, 0, 0]),
            .strings("nodes_modes", ["BRANCH_LEQ", "LEAF", "LEAF"]), .floats("nodes_values", [0.5, 0, 0]),
            .ints("nodes_truenodeids", [1, 0, 0]), .ints("nodes_falsenodeids", [2, 0, 0]),
            .ints("class_treeids", [0, 0]), .ints("class_nodeids", [1, 2]), .ints("class_ids", [0, 0]),
            .floats("class_weights", [0.7, 0.3]), .ints("classlabels_int64s", [0, 1]),
        ]
        let node = Node(opType: "TreeEnsembleClassifier", outputs: ["label", "probabilities"], attributes: merge(base, changes))
        return ONNXTestModel(outputs: ["label", "probabilities"], nodes: [node])
    }

    /// A TreeEnsemble (ai.onnx.ml 5) with one node on x0 and two leaves.
    static func treeEnsemble(_ changes: Attribute...) -> ONNXTestModel {
        let base: [Attribute] = [
            .int("n_targets", 1), .tensor("nodes_modes", dataType: 2, values: [0]),
            .tensor("nodes_splits", dataType: 1, values: [0.5]), .ints("nodes_featureids", [0]),
            .ints("nodes_truenodeids", [0]), .ints("nodes_trueleafs", [1]), .ints("nodes_falsenodeids", [1]),
            .ints("nodes_falseleafs", [1]), .ints("tree_roots", [0]), .ints("leaf_targetids", [0, 0]),
            .tensor("leaf_weights", dataType: 1, values: [1, 2]),
        ]
        var model = ONNXTestModel(nodes: [Node(opType: "TreeEnsemble", attributes: merge(base, changes))])
        model.opsets = [("", 21), ("ai.onnx.ml", 5)]
        return model
    }

    static func merge(_ base: [Attribute], _ changes: [Attribute]) -> [Attribute] {
        var merged = base.filter { attribute in !changes.contains { $0.name == attribute.name } }
        merged.append(contentsOf: changes)
        return merged
    }

    /// The attribute list of node `index` with `name` removed.
    mutating func remove(_ name: String, node index: Int = 0) {
        nodes[index].attributes.removeAll { $0.name == name }
    }

    func bytes() -> [UInt8] {
        var graph = ONNXProtoWriter()
        for node in nodes { graph.message(1, Self.encode(node)) }
        graph.string(2, "test")
        for (name, type, features) in inputs { graph.message(11, Self.valueInfo(name, type: type, features: features)) }
        for name in outputs { graph.message(12, Self.valueInfo(name, type: 1, features: nil)) }
        var model = ONNXProtoWriter()
        model.int(1, 10)
        model.message(7, graph)
        for (domain, version) in opsets {
            var opset = ONNXProtoWriter()
            opset.string(1, domain)
            opset.int(2, version)
            model.message(8, opset)
        }
        return model.bytes
    }

    private static func encode(_ node: Node) -> ONNXProtoWriter {
        var writer = ONNXProtoWriter()
        for input in node.inputs { writer.string(1, input) }
        for output in node.outputs { writer.string(2, output) }
        writer.string(4, node.opType)
        for attribute in node.attributes { writer.message(5, encode(attribute)) }
        writer.string(7, node.domain)
        return writer
    }

    private static func encode(_ attribute: Attribute) -> ONNXProtoWriter {
        var writer = ONNXProtoWriter()
        writer.string(1, attribute.name)
        switch attribute {
        case .int(_, let value):
            writer.int(3, value)
            writer.int(20, 2)
        case .ints(_, let values):
            writer.packed(8, values)
            writer.int(20, 7)
        case .floats(_, let values):
            writer.packedFloats(7, values)
            writer.int(20, 6)
        case .string(_, let value):
            writer.string(4, value)
            writer.int(20, 3)
        case .strings(_, let values):
            for value in values { writer.string(9, value) }
            writer.int(20, 8)
        case .tensor(_, let dataType, let values, let external):
            var tensor = ONNXProtoWriter()
            tensor.packed(1, [Int64(values.count)])
            tensor.int(2, Int64(dataType))
            var raw: [UInt8] = []
            for value in values {
                switch dataType {
                case 1: raw += withUnsafeBytes(of: Float(value).bitPattern.littleEndian, Array.init)
                case 11: raw += withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
                default: raw.append(UInt8(value))
                }
            }
            if external { tensor.int(14, 1) } else { tensor.bytes(9, raw) }
            writer.message(5, tensor)
            writer.int(20, 4)
        }
        return writer
    }

    private static func valueInfo(_ name: String, type: Int32, features: Int64?) -> ONNXProtoWriter {
        var shape = ONNXProtoWriter()
        var rows = ONNXProtoWriter()
        rows.string(2, "N")
        shape.message(1, rows)
        var columns = ONNXProtoWriter()
        if let features { columns.int(1, features) } else { columns.string(2, "F") }
        shape.message(1, columns)
        var tensorType = ONNXProtoWriter()
        tensorType.int(1, Int64(type))
        tensorType.message(2, shape)
        var typeProto = ONNXProtoWriter()
        typeProto.message(1, tensorType)
        var info = ONNXProtoWriter()
        info.string(1, name)
        info.message(2, typeProto)
        return info
    }
}

/// Protobuf wire encoding, the few forms ONNX uses.
struct ONNXProtoWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func key(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    mutating func int(_ field: Int, _ value: Int64) {
        key(field, 0)
        varint(UInt64(bitPattern: value))
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, 2)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    mutating func message(_ field: Int, _ value: ONNXProtoWriter) { bytes(field, value.bytes) }

    mutating func packed(_ field: Int, _ values: [Int64]) {
        var inner = ONNXProtoWriter()
        for value in values { inner.varint(UInt64(bitPattern: value)) }
        bytes(field, inner.bytes)
    }

    mutating func packedFloats(_ field: Int, _ values: [Float]) {
        bytes(field, values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    }
}
