extension ONNXProto.Model {
    /// Decodes a `ModelProto` (ir_version 1, graph 7, opset_import 8).
    init(decoding bytes: [UInt8]) throws(ProtobufError) {
        var reader = ProtobufReader(bytes: bytes)
        while !reader.isAtEnd {
            let field = try reader.readField()
            switch field.number {
            case 1: irVersion = try reader.readInt64(field)
            case 7:
                var message = try reader.readMessage(field)
                graph = try within("graph") { () throws(ProtobufError) in try ONNXProto.Graph(&message) }
            case 8:
                var message = try reader.readMessage(field)
                let index = opsetImports.count
                opsetImports.append(
                    try within("opset_import[\(index)]") { () throws(ProtobufError) in
                        try ONNXProto.OpsetImport(&message)
                    })
            default: try reader.skip(field)
            }
        }
    }
}

extension ONNXProto.OpsetImport {
    /// `OperatorSetIdProto`: domain 1, version 2.
    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while !reader.isAtEnd {
            let field = try reader.readField()
            switch field.number {
            case 1: domain = try reader.readString(field)
            case 2: version = try reader.readInt64(field)
            default: try reader.skip(field)
            }
        }
    }
}

extension ONNXProto.Graph {
    /// `GraphProto`: node 1, name 2, input 11, output 12.
    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while !reader.isAtEnd {
            let field = try reader.readField()
            switch field.number {
            case 1:
                var message = try reader.readMessage(field)
                let index = nodes.count
                nodes.append(
                    try within("node[\(index)]") { () throws(ProtobufError) in try ONNXProto.Node(&message) })
            case 2: name = try reader.readString(field)
            case 11, 12:
                var message = try reader.readMessage(field)
                let label = field.number == 11 ? "input[\(inputs.count)]" : "output[\(outputs.count)]"
                let info = try within(label) { () throws(ProtobufError) in try ONNXProto.ValueInfo(&message) }
                if field.number == 11 { inputs.append(info) } else { outputs.append(info) }
            default: try reader.skip(field)
            }
        }
    }
}

extension ONNXProto.Node {
    /// `NodeProto`: input 1, output 2, name 3, op_type 4, attribute 5, domain 7.
    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while !reader.isAtEnd {
            let field = try reader.readField()
            switch field.number {
            case 1: inputs.append(try reader.readString(field))
            case 2: outputs.append(try reader.readString(field))
            case 3: name = try reader.readString(field)
            case 4: opType = try reader.readString(field)
            case 5:
                var message = try reader.readMessage(field)
                let index = attributes.count
                attributes.append(
                    try within("attribute[\(index)]") { () throws(ProtobufError) in
                        try ONNXProto.Attribute(&message)
                    })
            case 7: domain = try reader.readString(field)
            default: try reader.skip(field)
            }
        }
    }
}

extension ONNXProto.Attribute {
    /// `AttributeProto`: name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, strings 9, type 20.
    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while !reader.isAtEnd {
            let field = try reader.readField()
            switch field.number {
            case 1: name = try reader.readString(field)
            case 2: f = try reader.readFloat(field)
            case 3: i = try reader.readInt64(field)
            case 4: s = try reader.readBytes(field)
            case 5:
                var message = try reader.readMessage(field)
                t = try within("t") { () throws(ProtobufError) in try ONNXProto.Tensor(&message) }
            case 7: try reader.appendFloats(field, to: &floats)
            case 8: try reader.appendInt64s(field, to: &ints)
            case 9: strings.append(try reader.readBytes(field))
            case 20: type = try reader.readInt32(field)
            case 6, 10, 11, 14, 15, 22, 23:
                otherPayloads.append(field.number)
                try reader.skip(field)
            default: try reader.skip(field)
            }
        }
    }
}

extension ONNXProto.Tensor {
    /// `TensorProto`: dims 1, data_type 2, float_data 4, int32_data 5, int64_data 7,
    /// raw_data 9, double_data 10, uint64_data 11, data_location 14.
    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while !reader.isAtEnd {
            let field = try reader.readField()
            switch field.number {
            case 1: try reader.appendInt64s(field, to: &dims)
            case 2: dataType = try reader.readInt32(field)
            case 4: try reader.appendFloats(field, to: &floatData)
            case 5: try reader.appendInt32s(field, to: &int32Data)
            case 7: try reader.appendInt64s(field, to: &int64Data)
            case 9: rawData = try reader.readBytes(field)
            case 10: try reader.appendDoubles(field, to: &doubleData)
            case 11: try reader.appendInt64s(field, to: &uint64Data)
            case 14: dataLocation = try reader.readInt32(field)
            default: try reader.skip(field)
            }
        }
    }
}

extension ONNXProto.ValueInfo {
    /// `ValueInfoProto`: name 1, type 2 (`TypeProto.tensor_type` 1: elem_type 1, shape 2 of
    /// `TensorShapeProto.dim` 1: dim_value 1).
    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while !reader.isAtEnd {
            let field = try reader.readField()
            switch field.number {
            case 1: name = try reader.readString(field)
            case 2:
                var type = try reader.readMessage(field)
                while !type.isAtEnd {
                    let typeField = try type.readField()
                    guard typeField.number == 1 else {
                        try type.skip(typeField)
                        continue
                    }
                    var tensor = try type.readMessage(typeField)
                    try readTensorType(&tensor)
                }
            default: try reader.skip(field)
            }
        }
    }

    private mutating func readTensorType(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while !reader.isAtEnd {
            let field = try reader.readField()
            switch field.number {
            case 1: elementType = try reader.readInt32(field)
            case 2:
                var shape = try reader.readMessage(field)
                var dims: [Int64?] = []
                while !shape.isAtEnd {
                    let shapeField = try shape.readField()
                    guard shapeField.number == 1 else {
                        try shape.skip(shapeField)
                        continue
                    }
                    var dimension = try shape.readMessage(shapeField)
                    var value: Int64?
                    while !dimension.isAtEnd {
                        let dimensionField = try dimension.readField()
                        if dimensionField.number == 1 {
                            value = try dimension.readInt64(dimensionField)
                        } else {
                            try dimension.skip(dimensionField)
                        }
                    }
                    dims.append(value)
                }
                self.dims = dims
            default: try reader.skip(field)
            }
        }
    }
}

/// Runs `body`, prefixing any error's reason with where in the message tree it happened.
private func within<T>(_ context: String, _ body: () throws(ProtobufError) -> T) throws(ProtobufError) -> T {
    do {
        return try body()
    } catch {
        var error = error
        error.path.insert(context, at: 0)
        throw error
    }
}
