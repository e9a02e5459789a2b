import Foundation

@testable import LocalModels

/// Builds GGUF files byte by byte for tests: well-formed ones from scratch, broken ones by editing the
/// pieces before `bytes()` joins them, and edited copies of a fixture (`init(copying:)`). `bytes()` is the
/// one place the tests serialise GGUF.
struct GGUFTestWriter {
    enum Value {
        case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
        case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
        /// The element type is written as given, so that a test can write one that disagrees with the items.
        case array(elementType: UInt32, [Value])

        var typeCode: UInt32 {
            switch self {
            case .uint8: 0
            case .int8: 1
            case .uint16: 2
            case .int16: 3
            case .uint32: 4
            case .int32: 5
            case .float32: 6
            case .bool: 7
            case .string: 8
            case .array: 9
            case .uint64: 10
            case .int64: 11
            case .float64: 12
            }
        }
    }

    struct Tensor {
        var name: String
        var shape: [Int]
        var type: GGMLType
        var data: [UInt8]
        /// Overrides the offset the writer would compute (for broken files).
        var offset: UInt64? = nil

        /// An F32 tensor holding `values`.
        static func float32(_ name: String, shape: [Int], values: [Float]) -> Tensor {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(values.count * 4)
            for v in values { GGUFTestWriter.append(v.bitPattern, to: &bytes) }
            return Tensor(name: name, shape: shape, type: .f32, data: bytes)
        }
    }

    var version: UInt32 = 3
    var magic: [UInt8] = Array("GGUF".utf8)
    var alignment = 32
    var metadata: [(key: String, value: Value)] = []
    var tensors: [Tensor] = []

    /// Appends an entry, even one whose key is already there (for broken files).
    mutating func add(_ key: String, _ value: Value) {
        metadata.append((key, value))
    }

    /// Replaces the entry for `key` in place, or appends one.
    mutating func set(_ key: String, _ value: Value) {
        if let i = metadata.firstIndex(where: { $0.key == key }) {
            metadata[i].value = value
        } else {
            metadata.append((key, value))
        }
    }

    mutating func remove(metadata key: String) {
        metadata.removeAll { $0.key == key }
    }

    mutating func addTensor(_ name: String, shape: [Int], type: GGMLType = .f32, data: [UInt8]? = nil) {
        let bytes = data ?? [UInt8](repeating: 0, count: type.byteCount(elements: shape.reduce(1, *)) ?? 0)
        tensors.append(Tensor(name: name, shape: shape, type: type, data: bytes))
    }

    mutating func addFloatTensor(_ name: String, shape: [Int], values: [Float]) {
        tensors.append(.float32(name, shape: shape, values: values))
    }

    mutating func remove(tensor name: String) {
        tensors.removeAll { $0.name == name }
    }

    /// Replaces a tensor (in place, or appended when there is none) by an F32 one of `shape` filled with `value`.
    mutating func replace(tensor name: String, shape: [Int], value: Float = 0) {
        let tensor = Tensor.float32(name, shape: shape, values: Array(repeating: value, count: shape.reduce(1, *)))
        if let i = tensors.firstIndex(where: { $0.name == name }) {
            tensors[i] = tensor
        } else {
            tensors.append(tensor)
        }
    }

    /// The file: header, metadata, tensor infos, padding to `alignment`, then each tensor's data padded to it.
    func bytes() -> [UInt8] {
        var out = magic
        Self.append(version, to: &out)
        Self.append(UInt64(tensors.count), to: &out)
        Self.append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata {
            Self.appendString(key, to: &out)
            Self.append(value.typeCode, to: &out)
            Self.appendValue(value, to: &out)
        }
        var offsets: [UInt64] = []
        var next: UInt64 = 0
        for t in tensors {
            offsets.append(t.offset ?? next)
            next += UInt64((t.data.count + alignment - 1) / alignment * alignment)
        }
        for (t, offset) in zip(tensors, offsets) {
            Self.appendString(t.name, to: &out)
            Self.append(UInt32(t.shape.count), to: &out)
            for d in t.shape { Self.append(UInt64(d), to: &out) }
            Self.append(t.type.rawValue, to: &out)
            Self.append(offset, to: &out)
        }
        Self.pad(&out, to: alignment)
        for t in tensors {
            out += t.data
            Self.pad(&out, to: alignment)
        }
        return out
    }

    /// Writes the file into a fresh temporary directory and returns its path.
    func write(name: String = "model.gguf") throws -> String {
        try Self.write(bytes(), name: name)
    }

    static func write(_ bytes: [UInt8], name: String = "model.gguf") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    private static func appendString(_ s: String, to out: inout [UInt8]) {
        append(UInt64(s.utf8.count), to: &out)
        out += Array(s.utf8)
    }

    /// The value without its type code (array items carry none; the array's element type stands for them).
    private static func appendValue(_ value: Value, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float32(let v): append(v.bitPattern, to: &out)
        case .float64(let v): append(v.bitPattern, to: &out)
        case .bool(let v): out.append(v ? 1 : 0)
        case .string(let s): appendString(s, to: &out)
        case .array(let elementType, let items):
            append(elementType, to: &out)
            append(UInt64(items.count), to: &out)
            for item in items { appendValue(item, to: &out) }
        }
    }

    private static func pad(_ out: inout [UInt8], to alignment: Int) {
        out += repeatElement(0, count: (alignment - out.count % alignment) % alignment)
    }
}
