/// Reads the header, metadata and tensor table of a GGUF file from its bytes, with bounds checks
/// on every read: a truncated or corrupt file throws, it never reads past the end.
struct GGUFParser {
    struct Result {
        var version: UInt32
        var metadata: [String: GGUFValue]
        var metadataKeys: [String]
        var tensors: [GGUFTensor]
        var alignment: Int
    }

    static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian
    /// Caps that keep a corrupt count from asking for terabytes before the bounds check notices.
    static let maxDimensions = 8

    private let bytes: UnsafeRawBufferPointer
    private let file: String
    private var position = 0
    private var part = "header"

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    mutating func parse() throws -> Result {
        let magic: UInt32 = try read()
        guard magic == Self.magic else {
            throw fail("bad magic: not a GGUF file")
        }
        let version: UInt32 = try read()
        guard version == 2 || version == 3 else {
            throw fail("unsupported GGUF version \(version) (2 and 3 are supported)")
        }
        let rawTensorCount: UInt64 = try read()
        let rawKVCount: UInt64 = try read()
        let kvCount = try count(rawKVCount, minimumBytesEach: 12, what: "metadata count")

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(kvCount)
        for i in 0..<kvCount {
            part = "metadata entry \(i)"
            let key = try readString()
            part = "metadata key \(key)"
            let type: UInt32 = try read()
            let value = try readValue(type: type, depth: 0)
            if metadata.updateValue(value, forKey: key) != nil {
                throw fail("duplicate key")
            }
            keys.append(key)
        }

        part = "metadata key general.alignment"
        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.integer, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                throw fail("alignment must be a power of two, got \(value)")
            }
            alignment = a
        }

        part = "header"
        // Each tensor entry takes at least 24 bytes, so the count is checked against what follows the metadata.
        let tensorCount = try count(rawTensorCount, minimumBytesEach: 24, what: "tensor count")
        var infos: [(name: String, shape: [Int], type: GGMLType, offset: Int)] = []
        infos.reserveCapacity(tensorCount)
        var names = Set<String>()
        for i in 0..<tensorCount {
            part = "tensor entry \(i)"
            let name = try readString()
            part = "tensor \(name)"
            guard names.insert(name).inserted else { throw fail("duplicate tensor name") }
            let dims: UInt32 = try read()
            guard dims >= 1, dims <= Self.maxDimensions else {
                throw fail("\(dims) dimensions (1 to \(Self.maxDimensions) are supported)")
            }
            var shape: [Int] = []
            for _ in 0..<dims {
                let d: UInt64 = try read()
                guard d <= UInt64(Int32.max) else { throw fail("dimension \(d) is too large") }
                shape.append(Int(d))
            }
            let rawType: UInt32 = try read()
            guard let type = GGMLType(rawValue: rawType) else {
                throw fail("unknown tensor type \(rawType)")
            }
            let offset: UInt64 = try read()
            guard offset <= UInt64(Int.max / 2) else { throw fail("offset \(offset) is too large") }
            infos.append((name, shape, type, Int(offset)))
        }

        part = "tensor data"
        let dataStart = (position + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensor] = []
        tensors.reserveCapacity(infos.count)
        for info in infos {
            part = "tensor \(info.name)"
            var elements = 1
            for d in info.shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail("shape \(info.shape) overflows") }
                elements = product
            }
            guard info.shape[0] % info.type.blockElements == 0,
                let byteCount = info.type.byteCount(elements: elements)
            else {
                throw fail(
                    "shape \(info.shape): rows of \(info.shape[0]) are not whole \(info.type) blocks of \(info.type.blockElements)"
                )
            }
            guard info.offset % alignment == 0 else {
                throw fail("data offset \(info.offset) is not aligned to \(alignment)")
            }
            let start = dataStart + info.offset
            guard start <= bytes.count, byteCount <= bytes.count - start else {
                throw fail(
                    "data [\(start), \(start + byteCount)) runs past the end of the file (\(bytes.count) bytes): truncated?"
                )
            }
            tensors.append(
                GGUFTensor(name: info.name, shape: info.shape, type: info.type, fileOffset: start, byteCount: byteCount)
            )
        }
        return Result(version: version, metadata: metadata, metadataKeys: keys, tensors: tensors, alignment: alignment)
    }

    // MARK: Primitive reads

    private func fail(_ reason: String) -> GGUFLoadError {
        GGUFLoadError(file: file, part: part, reason: reason)
    }

    private mutating func read<T: FixedWidthInteger>() throws -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - position >= size else {
            throw fail("file ends at byte \(bytes.count) while reading: truncated")
        }
        let value = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += size
        return T(littleEndian: value)
    }

    /// A count read from the file, checked against the bytes left so that a corrupt count
    /// fails here rather than in a giant allocation.
    private func count(_ raw: UInt64, minimumBytesEach: Int, what: String) throws -> Int {
        let left = UInt64(bytes.count - position)
        guard raw <= left / UInt64(max(minimumBytesEach, 1)) else {
            throw fail("\(what) \(raw) cannot fit in the \(left) bytes left: corrupt or truncated")
        }
        return Int(raw)
    }

    private mutating func readString() throws -> String {
        // Read first: `count` must see the position after the length field.
        let rawLength: UInt64 = try read()
        let length = try count(rawLength, minimumBytesEach: 1, what: "string length")
        let start = position
        position += length
        let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<start + length])
        return String(decoding: slice, as: UTF8.self)
    }

    private mutating func readValue(type: UInt32, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try read())
        case 1: return .int8(try read())
        case 2: return .uint16(try read())
        case 3: return .int16(try read())
        case 4: return .uint32(try read())
        case 5: return .int32(try read())
        case 6: return .float32(Float(bitPattern: try read()))
        case 7:
            let b: UInt8 = try read()
            guard b <= 1 else { throw fail("bool value \(b)") }
            return .bool(b == 1)
        case 8: return .string(try readString())
        case 9: return .array(try readArray(depth: depth))
        case 10: return .uint64(try read())
        case 11: return .int64(try read())
        case 12: return .float64(Double(bitPattern: try read()))
        default: throw fail("unknown value type \(type)")
        }
    }

    private static func elementSize(_ type: UInt32) -> Int {
        switch type {
        case 0, 1, 7: 1
        case 2, 3: 2
        case 4, 5, 6: 4
        case 10, 11, 12: 8
        default: 8  // strings and arrays: at least their length field
        }
    }

    private mutating func readArray(depth: Int) throws -> GGUFArray {
        guard depth < 4 else { throw fail("arrays nested too deep") }
        let elementType: UInt32 = try read()
        let rawCount: UInt64 = try read()
        let n = try count(rawCount, minimumBytesEach: Self.elementSize(elementType), what: "array length")
        func many<T>(_ one: (inout GGUFParser) throws -> T) throws -> [T] {
            var out: [T] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try one(&self)) }
            return out
        }
        switch elementType {
        case 0: return .uint8(try many { try $0.read() })
        case 1: return .int8(try many { try $0.read() })
        case 2: return .uint16(try many { try $0.read() })
        case 3: return .int16(try many { try $0.read() })
        case 4: return .uint32(try many { try $0.read() })
        case 5: return .int32(try many { try $0.read() })
        case 6: return .float32(try many { Float(bitPattern: try $0.read()) })
        case 7:
            return .bool(
                try many {
                    let b: UInt8 = try $0.read()
                    guard b <= 1 else { throw $0.fail("bool value \(b)") }
                    return b == 1
                })
        case 8: return .string(try many { try $0.readString() })
        case 9:
            return .array(try many { try $0.readArray(depth: depth + 1) })
        case 10: return .uint64(try many { try $0.read() })
        case 11: return .int64(try many { try $0.read() })
        case 12: return .float64(try many { Double(bitPattern: try $0.read()) })
        default: throw fail("unknown array element type \(elementType)")
        }
    }
}
