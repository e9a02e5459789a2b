import Cache

/// An Open Inference Protocol v2 infer request (`POST /v2/models/{name}/infer`), decoded.
///
/// Two layouts are accepted: one tensor of shape `[rows, features]` (or `[features]` for a
/// single row), or one tensor per feature, named after it, of shape `[rows]` or `[rows, 1]`.
/// `data` may be flat (row-major) or nested. FP32 values are rounded to float32, as a binary
/// FP32 tensor would be; null stands for a missing value.
struct V2InferInput {
    var id: String?
    var rows: PredictRows
    /// Output names the client asked for; nil means all.
    var outputs: [String]?

    static let numericTypes: Set<String> = [
        "FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "BOOL",
    ]

    private struct Tensor {
        var name: String
        var shape: [Int]
        var values: [Double]
        var path: String
    }

    init(_ object: JSONObject, forest: ServedForest, model: String) throws(GatewayError) {
        if let id = object["id"] {
            guard case .string(let text) = id else {
                throw GatewayError.badRequest("'id' must be a string.", code: "invalid_type", param: "id")
            }
            self.id = text
        }
        if let requested = object["outputs"] {
            guard case .array(let items) = requested else {
                throw GatewayError.badRequest(
                    "'outputs' must be an array of {\"name\": ...} objects.", code: "invalid_type", param: "outputs")
            }
            var names: [String] = []
            for (index, item) in items.enumerated() {
                guard let name = item["name"]?.stringValue else {
                    throw GatewayError.badRequest(
                        "outputs[\(index)] must be an object with a string 'name'.", code: "invalid_type",
                        param: "outputs[\(index)]")
                }
                guard V2Response.outputNames(forest).contains(name) else {
                    throw GatewayError.badRequest(
                        "outputs[\(index)] asks for '\(name)'; model '\(model)' has outputs "
                            + V2Response.outputNames(forest).joined(separator: ", ") + ".",
                        code: "invalid_value", param: "outputs[\(index)]")
                }
                names.append(name)
            }
            outputs = names
        }
        guard case .array(let inputs)? = object["inputs"], !inputs.isEmpty else {
            throw GatewayError.badRequest(
                "'inputs' must be a non-empty array of tensors {name, shape, datatype, data}; "
                    + "\(PredictInput.expectation(forest, model)).",
                code: "missing_required_parameter", param: "inputs")
        }
        var tensors: [Tensor] = []
        for (index, input) in inputs.enumerated() {
            tensors.append(try Self.tensor(input, path: "inputs[\(index)]"))
        }
        rows = try Self.assemble(tensors, forest: forest, model: model)
    }

    private static func tensor(_ value: JSONValue, path: String) throws(GatewayError) -> Tensor {
        guard case .object(let fields) = value else {
            throw GatewayError.badRequest("\(path) must be a tensor object.", code: "invalid_type", param: path)
        }
        guard let name = fields["name"]?.stringValue else {
            throw GatewayError.badRequest("\(path) needs a string 'name'.", code: "missing_required_parameter", param: "\(path).name")
        }
        guard let datatype = fields["datatype"]?.stringValue else {
            throw GatewayError.badRequest(
                "\(path) needs a 'datatype' (FP32 or FP64).", code: "missing_required_parameter", param: "\(path).datatype")
        }
        guard numericTypes.contains(datatype) else {
            throw GatewayError.badRequest(
                "\(path) has datatype \(datatype); tabular models take FP32 or FP64 (or integer) tensors.",
                code: "invalid_type", param: "\(path).datatype")
        }
        guard case .array(let dims)? = fields["shape"] else {
            throw GatewayError.badRequest(
                "\(path) needs a 'shape' array.", code: "missing_required_parameter", param: "\(path).shape")
        }
        var shape: [Int] = []
        for dim in dims {
            guard let size = dim.intValue, size >= 0 else {
                throw GatewayError.badRequest(
                    "\(path).shape must hold non-negative integers.", code: "invalid_value", param: "\(path).shape")
            }
            shape.append(size)
        }
        guard let data = fields["data"] else {
            throw GatewayError.badRequest("\(path) needs 'data'.", code: "missing_required_parameter", param: "\(path).data")
        }
        var values: [Double] = []
        try flatten(data, into: &values, path: "\(path).data", roundToFloat: datatype == "FP32" || datatype == "FP16")
        let expected = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
        guard values.count == expected else {
            throw GatewayError.badRequest(
                "\(path) has \(values.count) values in 'data', its shape \(shape) needs \(expected).",
                code: "invalid_value", param: "\(path).data")
        }
        return Tensor(name: name, shape: shape, values: values, path: path)
    }

    private static func flatten(_ value: JSONValue, into values: inout [Double], path: String, roundToFloat: Bool) throws(GatewayError) {
        switch value {
        case .array(let items):
            for item in items { try flatten(item, into: &values, path: path, roundToFloat: roundToFloat) }
        case .bool(let flag):
            values.append(flag ? 1 : 0)
        default:
            let number = try PredictInput.number(value, at: path)
            values.append(roundToFloat ? Double(Float(number)) : number)
        }
    }

    private static func assemble(_ tensors: [Tensor], forest: ServedForest, model: String) throws(GatewayError) -> PredictRows {
        let width = forest.featureCount
        if tensors.count == 1, let tensor = tensors.first, forest.featureIndex[tensor.name] == nil || width == 1 {
            switch tensor.shape.count {
            case 2 where tensor.shape[1] == width:
                return PredictRows(values: tensor.values, count: tensor.shape[0])
            case 1 where tensor.shape[0] == width:
                return PredictRows(values: tensor.values, count: 1)
            default:
                throw GatewayError.badRequest(
                    "\(tensor.path) has shape \(tensor.shape); expected [rows, \(width)]: "
                        + "\(PredictInput.expectation(forest, model)).",
                    code: "invalid_value", param: "\(tensor.path).shape")
            }
        }
        // One tensor per feature, by name.
        guard let names = forest.featureNames else {
            throw GatewayError.badRequest(
                "\(tensors.count) input tensors, but model '\(model)' has no feature names to match them with; "
                    + "send one tensor of shape [rows, \(width)].",
                code: "invalid_value", param: "inputs")
        }
        var columns = [[Double]?](repeating: nil, count: width)
        var rowCount: Int?
        for tensor in tensors {
            guard let column = forest.featureIndex[tensor.name] else {
                throw GatewayError.badRequest(
                    "\(tensor.path) is named '\(tensor.name)', not a feature of model '\(model)' "
                        + "(\(names.joined(separator: ", "))).",
                    code: "invalid_value", param: "\(tensor.path).name")
            }
            guard tensor.shape.count == 1 || (tensor.shape.count == 2 && tensor.shape[1] == 1) else {
                throw GatewayError.badRequest(
                    "\(tensor.path) ('\(tensor.name)') has shape \(tensor.shape); a per-feature tensor has shape [rows] or [rows, 1].",
                    code: "invalid_value", param: "\(tensor.path).shape")
            }
            guard rowCount == nil || rowCount == tensor.shape[0] else {
                throw GatewayError.badRequest(
                    "\(tensor.path) has \(tensor.shape[0]) rows, the tensors before it \(rowCount!).",
                    code: "invalid_value", param: "\(tensor.path).shape")
            }
            rowCount = tensor.shape[0]
            columns[column] = tensor.values
        }
        let missing = names.indices.filter { columns[$0] == nil }.map { names[$0] }
        guard missing.isEmpty, let count = rowCount else {
            throw GatewayError.badRequest(
                "missing input tensors for features: \(missing.joined(separator: ", ")).",
                code: "invalid_value", param: "inputs")
        }
        var values = [Double](repeating: 0, count: count * width)
        for (column, data) in columns.enumerated() {
            guard let data else { continue }
            for row in 0..<count { values[row * width + column] = data[row] }
        }
        return PredictRows(values: values, count: count)
    }
}
