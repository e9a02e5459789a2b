/// Why a tensor's numbers could not be read.
struct TensorValueError: Error {
    var reason: String
}

extension ONNXProto.Tensor {
    /// The number of elements `dims` declares: 1 for a scalar (no dims).
    func declaredCount() throws(TensorValueError) -> Int {
        var count = 1
        for dim in dims {
            guard dim >= 0, dim <= Int64(Int32.max) else {
                throw TensorValueError(reason: "tensor dimension \(dim) is out of range")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
            guard !overflow, product <= Int(Int32.max) else {
                throw TensorValueError(reason: "tensor dimensions \(dims) hold too many elements")
            }
            count = product
        }
        return count
    }

    /// FLOAT or DOUBLE elements, from the typed field or little-endian `raw_data`.
    func floatingValues() throws(TensorValueError) -> [Double] {
        let values: [Double]
        switch dataType {
        case ONNXProto.DataType.float:
            values = try rawData.map { raw throws(TensorValueError) in
                try Self.decode(raw, width: 4) { Double(Float(bitPattern: UInt32(truncatingIfNeeded: $0))) }
            } ?? floatData.map(Double.init)
        case ONNXProto.DataType.double:
            values = try rawData.map { raw throws(TensorValueError) in
                try Self.decode(raw, width: 8) { Double(bitPattern: $0) }
            } ?? doubleData
        default:
            throw TensorValueError(
                reason: "tensor of \(ONNXProto.DataType.name(dataType)), expected FLOAT or DOUBLE")
        }
        try checkCount(values.count)
        return values
    }

    /// Integer elements of any width (onnx stores 8-, 16- and 32-bit ones in `int32_data`).
    func integerValues() throws(TensorValueError) -> [Int64] {
        let values: [Int64]
        switch dataType {
        case ONNXProto.DataType.uint8, ONNXProto.DataType.uint16:
            let width = dataType == ONNXProto.DataType.uint8 ? 1 : 2
            values = try rawData.map { raw throws(TensorValueError) in
                try Self.decode(raw, width: width) { Int64($0) }
            } ?? int32Data.map { Int64(UInt32(bitPattern: $0)) }
        case ONNXProto.DataType.int8:
            values = try rawData.map { raw throws(TensorValueError) in
                try Self.decode(raw, width: 1) { Int64(Int8(truncatingIfNeeded: $0)) }
            } ?? int32Data.map { Int64($0) }
        case ONNXProto.DataType.int16:
            values = try rawData.map { raw throws(TensorValueError) in
                try Self.decode(raw, width: 2) { Int64(Int16(truncatingIfNeeded: $0)) }
            } ?? int32Data.map { Int64($0) }
        case ONNXProto.DataType.int32:
            values = try rawData.map { raw throws(TensorValueError) in
                try Self.decode(raw, width: 4) { Int64(Int32(truncatingIfNeeded: $0)) }
            } ?? int32Data.map { Int64($0) }
        case ONNXProto.DataType.int64:
            values = try rawData.map { raw throws(TensorValueError) in
                try Self.decode(raw, width: 8) { Int64(bitPattern: $0) }
            } ?? int64Data
        default:
            throw TensorValueError(reason: "tensor of \(ONNXProto.DataType.name(dataType)), expected integers")
        }
        try checkCount(values.count)
        return values
    }

    private func checkCount(_ count: Int) throws(TensorValueError) {
        guard dataLocation != 1 else {
            throw TensorValueError(reason: "tensor data is stored in an external file, which is not supported")
        }
        let declared = try declaredCount()
        guard count == declared else {
            throw TensorValueError(reason: "tensor declares dims \(dims) (\(declared) values) but holds \(count)")
        }
    }

    /// Little-endian elements of `width` bytes, each handed to `make` as the low bytes of a UInt64.
    private static func decode<Value>(
        _ raw: [UInt8], width: Int, _ make: (UInt64) -> Value
    ) throws(TensorValueError) -> [Value] {
        guard raw.count % width == 0 else {
            throw TensorValueError(reason: "raw_data is \(raw.count) bytes, not a multiple of \(width)")
        }
        var values: [Value] = []
        values.reserveCapacity(raw.count / width)
        var offset = 0
        while offset < raw.count {
            var bits: UInt64 = 0
            for index in 0..<width { bits |= UInt64(raw[offset + index]) << (8 * UInt64(index)) }
            values.append(make(bits))
            offset += width
        }
        return values
    }
}
