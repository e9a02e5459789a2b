/// A cursor over protobuf wire-format bytes: just enough of the encoding to read ONNX files.
///
/// Every read is checked against the end of the message being read, so a truncated or corrupt
/// file ends in a `ProtobufError` rather than an out-of-bounds read, and every loop over
/// fields consumes at least one byte, so none can spin forever. A sub-message shares the
/// file's storage and only narrows `end`.
struct ProtobufReader {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    struct Field {
        var number: Int
        var wireType: WireType
    }

    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int

    init(bytes: [UInt8]) {
        self.init(bytes: bytes, range: 0..<bytes.count)
    }

    private init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    var isAtEnd: Bool { position >= end }

    private func fail(_ reason: String, at offset: Int? = nil) -> ProtobufError {
        ProtobufError(offset: offset ?? position, reason: reason)
    }

    /// The next field's number and wire type.
    mutating func readField() throws(ProtobufError) -> Field {
        let start = position
        let key = try readVarint()
        let number = key >> 3
        guard number > 0, number <= 0x1FFF_FFFF else {
            throw fail("invalid field number \(number)", at: start)
        }
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw fail("invalid wire type \(key & 7) for field \(number)", at: start)
        }
        return Field(number: Int(number), wireType: wireType)
    }

    mutating func readVarint() throws(ProtobufError) -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw fail("truncated varint", at: start) }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw fail("varint longer than 64 bits", at: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func readFixed32() throws(ProtobufError) -> UInt32 {
        guard end - position >= 4 else { throw fail("truncated 4-byte value") }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << (8 * UInt32(index)) }
        position += 4
        return value
    }

    mutating func readFixed64() throws(ProtobufError) -> UInt64 {
        guard end - position >= 8 else { throw fail("truncated 8-byte value") }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << (8 * UInt64(index)) }
        position += 8
        return value
    }

    /// The byte range of a length-delimited value, which the cursor then steps over.
    mutating func readLengthDelimited() throws(ProtobufError) -> Range<Int> {
        let start = position
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw fail("length \(length) runs past the end of the enclosing message (\(end - position) bytes left)", at: start)
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    /// A reader over an embedded message.
    mutating func readMessage() throws(ProtobufError) -> ProtobufReader {
        ProtobufReader(bytes: bytes, range: try readLengthDelimited())
    }

    mutating func readBytes() throws(ProtobufError) -> ArraySlice<UInt8> {
        bytes[try readLengthDelimited()]
    }

    mutating func readString() throws(ProtobufError) -> String {
        String(decoding: try readBytes(), as: UTF8.self)
    }

    /// Steps over a field this decoder does not use.
    mutating func skip(_ field: Field) throws(ProtobufError) {
        switch field.wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .startGroup, .endGroup:
            throw fail("field \(field.number) uses the deprecated group encoding, which ONNX never writes")
        }
    }

    // MARK: Typed scalars, checking the wire type

    private func expect(_ field: Field, _ wireType: WireType) throws(ProtobufError) {
        guard field.wireType == wireType else {
            throw fail("field \(field.number) has wire type \(field.wireType.rawValue), expected \(wireType.rawValue)")
        }
    }

    mutating func readInt64(_ field: Field) throws(ProtobufError) -> Int64 {
        try expect(field, .varint)
        return Int64(bitPattern: try readVarint())
    }

    /// `int32` and enum fields: negative values are sign-extended to ten bytes on the wire.
    mutating func readInt32(_ field: Field) throws(ProtobufError) -> Int32 {
        try expect(field, .varint)
        return Int32(truncatingIfNeeded: try readVarint())
    }

    mutating func readFloat(_ field: Field) throws(ProtobufError) -> Float {
        try expect(field, .fixed32)
        return Float(bitPattern: try readFixed32())
    }

    mutating func readString(_ field: Field) throws(ProtobufError) -> String {
        try expect(field, .lengthDelimited)
        return try readString()
    }

    mutating func readBytes(_ field: Field) throws(ProtobufError) -> [UInt8] {
        try expect(field, .lengthDelimited)
        return Array(try readBytes())
    }

    mutating func readMessage(_ field: Field) throws(ProtobufError) -> ProtobufReader {
        try expect(field, .lengthDelimited)
        return try readMessage()
    }

    // MARK: Repeated scalars, packed or not

    /// Appends one element (unpacked encoding) or a packed run of them.
    mutating func appendInt64s(_ field: Field, to values: inout [Int64]) throws(ProtobufError) {
        if field.wireType == .lengthDelimited {
            var packed = try readMessage()
            while !packed.isAtEnd { values.append(Int64(bitPattern: try packed.readVarint())) }
        } else {
            values.append(try readInt64(field))
        }
    }

    mutating func appendInt32s(_ field: Field, to values: inout [Int32]) throws(ProtobufError) {
        if field.wireType == .lengthDelimited {
            var packed = try readMessage()
            while !packed.isAtEnd { values.append(Int32(truncatingIfNeeded: try packed.readVarint())) }
        } else {
            values.append(try readInt32(field))
        }
    }

    mutating func appendFloats(_ field: Field, to values: inout [Float]) throws(ProtobufError) {
        if field.wireType == .lengthDelimited {
            var packed = try readMessage()
            guard (packed.end - packed.position) % 4 == 0 else {
                throw fail("packed float field \(field.number) is \(packed.end - packed.position) bytes, not a multiple of 4")
            }
            values.reserveCapacity(values.count + (packed.end - packed.position) / 4)
            while !packed.isAtEnd { values.append(Float(bitPattern: try packed.readFixed32())) }
        } else {
            values.append(try readFloat(field))
        }
    }

    mutating func appendDoubles(_ field: Field, to values: inout [Double]) throws(ProtobufError) {
        if field.wireType == .lengthDelimited {
            var packed = try readMessage()
            guard (packed.end - packed.position) % 8 == 0 else {
                throw fail("packed double field \(field.number) is \(packed.end - packed.position) bytes, not a multiple of 8")
            }
            values.reserveCapacity(values.count + (packed.end - packed.position) / 8)
            while !packed.isAtEnd { values.append(Double(bitPattern: try packed.readFixed64())) }
        } else {
            try expect(field, .fixed64)
            values.append(Double(bitPattern: try readFixed64()))
        }
    }
}

/// A malformed protobuf encoding: the byte offset in the file, the message it was in
/// (`["graph", "node[3]", "attribute[0]"]`) and what was wrong.
struct ProtobufError: Error, Sendable, Equatable {
    var offset: Int
    var path: [String] = []
    var reason: String
}
