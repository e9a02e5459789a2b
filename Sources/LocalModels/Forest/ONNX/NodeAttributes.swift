/// One graph node's attributes by name, read with the types onnxruntime insists on, so that a
/// wrong or malformed attribute is an error naming the file, the node and the attribute.
struct NodeAttributes {
    let file: String
    /// "node 'TreeEnsembleClassifier' (graph node 0)".
    let nodePart: String
    private let byName: [String: ONNXProto.Attribute]

    init(node: ONNXProto.Node, index: Int, file: String) throws(ForestLoadError) {
        self.file = file
        self.nodePart = NodeAttributes.describe(node, index: index)
        var byName: [String: ONNXProto.Attribute] = [:]
        for attribute in node.attributes {
            guard byName.updateValue(attribute, forKey: attribute.name) == nil else {
                throw ForestLoadError(file: file, part: nodePart, reason: "attribute \(attribute.name) appears twice")
            }
        }
        self.byName = byName
    }

    static func describe(_ node: ONNXProto.Node, index: Int) -> String {
        let named = node.name.isEmpty || node.name == node.opType ? "" : " named '\(node.name)'"
        return "node '\(node.opType)'\(named) (graph node \(index))"
    }

    /// An error about attribute `name`, or about its element `index`.
    func fail(_ name: String, index: Int? = nil, _ reason: String) -> ForestLoadError {
        let element = index.map { "[\($0)]" } ?? ""
        return ForestLoadError(file: file, part: "\(nodePart) attribute \(name)\(element)", reason: reason)
    }

    func fail(_ reason: String) -> ForestLoadError {
        ForestLoadError(file: file, part: nodePart, reason: reason)
    }

    func has(_ name: String) -> Bool { byName[name] != nil }

    /// The attribute, checked to be of `type`. Files from before IR version 2 leave the type
    /// UNDEFINED; there the payload present decides.
    private func attribute(_ name: String, _ type: Int32) throws(ForestLoadError) -> ONNXProto.Attribute? {
        guard let attribute = byName[name] else { return nil }
        var actual = attribute.type
        if actual == 0 {
            if !attribute.ints.isEmpty {
                actual = ONNXProto.AttributeType.ints
            } else if !attribute.floats.isEmpty {
                actual = ONNXProto.AttributeType.floats
            } else if !attribute.strings.isEmpty {
                actual = ONNXProto.AttributeType.strings
            } else if attribute.t != nil {
                actual = ONNXProto.AttributeType.tensor
            } else if attribute.s != nil {
                actual = ONNXProto.AttributeType.string
            } else if attribute.i != nil {
                actual = ONNXProto.AttributeType.int
            } else if attribute.f != nil {
                actual = ONNXProto.AttributeType.float
            } else {
                actual = type  // an empty list of any kind
            }
        }
        guard actual == type else {
            throw fail(
                name,
                "has type \(ONNXProto.AttributeType.name(actual)), expected \(ONNXProto.AttributeType.name(type))")
        }
        return attribute
    }

    /// An INTS attribute; empty when absent.
    func ints(_ name: String) throws(ForestLoadError) -> [Int64] {
        try attribute(name, ONNXProto.AttributeType.ints)?.ints ?? []
    }

    /// A FLOATS attribute widened to `Double`; empty when absent.
    func floats(_ name: String) throws(ForestLoadError) -> [Double] {
        (try attribute(name, ONNXProto.AttributeType.floats)?.floats ?? []).map(Double.init)
    }

    /// A STRINGS attribute; empty when absent.
    func strings(_ name: String) throws(ForestLoadError) -> [String] {
        (try attribute(name, ONNXProto.AttributeType.strings)?.strings ?? []).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    func int(_ name: String) throws(ForestLoadError) -> Int64? {
        guard let attribute = try attribute(name, ONNXProto.AttributeType.int) else { return nil }
        return attribute.i ?? 0
    }

    func string(_ name: String) throws(ForestLoadError) -> String? {
        guard let attribute = try attribute(name, ONNXProto.AttributeType.string) else { return nil }
        return String(decoding: attribute.s ?? [], as: UTF8.self)
    }

    func tensor(_ name: String) throws(ForestLoadError) -> ONNXProto.Tensor? {
        guard let attribute = try attribute(name, ONNXProto.AttributeType.tensor) else { return nil }
        guard let tensor = attribute.t else { throw fail(name, "is a TENSOR attribute without a tensor") }
        return tensor
    }

    /// Every attribute is one the operator defines: onnxruntime refuses a node with any other,
    /// and a misspelt attribute would otherwise be silently ignored.
    func check(known: Set<String>, operatorName: String) throws(ForestLoadError) {
        for name in byName.keys.sorted() where !known.contains(name) {
            throw fail(name, "is not an attribute of \(operatorName)")
        }
    }

    /// A FLOAT or DOUBLE tensor attribute of element type `type`, as doubles; nil when absent.
    /// onnxruntime unpacks these as the tree's own type and refuses any other; it reads a
    /// tensor without dims as no tensor at all, and so does this.
    func floatingTensor(_ name: String, type: ONNXElementType) throws(ForestLoadError) -> [Double]? {
        guard let tensor = try tensor(name), !tensor.dims.isEmpty else { return nil }
        guard tensor.dataType == type.dataType else {
            throw fail(
                name,
                "is a \(ONNXProto.DataType.name(tensor.dataType)) tensor; this tree reads "
                    + "\(ONNXProto.DataType.name(type.dataType)) and onnxruntime requires the same type")
        }
        do {
            return try tensor.floatingValues()
        } catch {
            throw fail(name, error.reason)
        }
    }

    /// An integer tensor attribute of exactly `dataType`; nil when absent (or without dims).
    func integerTensor(_ name: String, dataType: Int32) throws(ForestLoadError) -> [Int64]? {
        guard let tensor = try tensor(name), !tensor.dims.isEmpty else { return nil }
        guard tensor.dataType == dataType else {
            throw fail(
                name,
                "is a \(ONNXProto.DataType.name(tensor.dataType)) tensor, expected \(ONNXProto.DataType.name(dataType))")
        }
        do {
            return try tensor.integerValues()
        } catch {
            throw fail(name, error.reason)
        }
    }

    /// A FLOATS attribute or its `<name>_as_tensor` form, whichever is present, as the tree
    /// stores them: FLOATS are kept as floats, or widened for a DOUBLE tree; the tensor must
    /// be of the tree's type. Empty when neither is present.
    func floatsOrTensor(_ name: String, type: ONNXElementType) throws(ForestLoadError) -> [Double] {
        let plain = try floats(name)
        guard let tensor = try floatingTensor("\(name)_as_tensor", type: type), !tensor.isEmpty else { return plain }
        guard plain.isEmpty else {
            throw fail(name, "both \(name) and \(name)_as_tensor are set")
        }
        return tensor
    }

    /// The number of values in a list attribute, or an error naming both lists when it is not
    /// `count` (or, with `optional`, zero).
    func expect(_ name: String, _ values: Int, count: Int, like other: String, optional: Bool = false)
        throws(ForestLoadError)
    {
        guard values == count || (optional && values == 0) else {
            throw fail(name, "has \(values) values, but \(other) has \(count)")
        }
    }

    /// A required INTS attribute with one value per node (`count` of them, as `other` has).
    func nodeInts(_ name: String, count: Int, like other: String) throws(ForestLoadError) -> [Int64] {
        let values = try ints(name)
        try expect(name, values.count, count: count, like: other)
        return values
    }
}
