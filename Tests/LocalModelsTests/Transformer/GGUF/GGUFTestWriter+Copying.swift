import Foundation

@testable import LocalModels

extension GGUFTestWriter {
    /// Every metadata entry and tensor of `file`, in file order, to be edited and written back, so that a load
    /// error can be provoked one field at a time.
    init(copying file: GGUFFile) {
        self.init()
        version = file.version
        alignment = file.alignment
        metadata = file.metadataKeys.map { ($0, Value(file.metadata[$0]!)) }
        tensors = file.tensors.map {
            Tensor(name: $0.name, shape: $0.shape, type: $0.type, data: Array(file.data(of: $0)))
        }
    }

    /// Writes the file into a fresh temporary directory, opens it and removes it again (the mapping outlives
    /// the directory entry).
    func open() throws -> GGUFFile {
        let path = try write()
        defer { try? FileManager.default.removeItem(at: URL(fileURLWithPath: path).deletingLastPathComponent()) }
        return try GGUFFile(path: path)
    }
}

extension GGUFTestWriter.Value {
    /// A value as `GGUFFile` read it.
    init(_ value: GGUFValue) {
        switch value {
        case .uint8(let v): self = .uint8(v)
        case .int8(let v): self = .int8(v)
        case .uint16(let v): self = .uint16(v)
        case .int16(let v): self = .int16(v)
        case .uint32(let v): self = .uint32(v)
        case .int32(let v): self = .int32(v)
        case .uint64(let v): self = .uint64(v)
        case .int64(let v): self = .int64(v)
        case .float32(let v): self = .float32(v)
        case .float64(let v): self = .float64(v)
        case .bool(let v): self = .bool(v)
        case .string(let v): self = .string(v)
        case .array(let a): self.init(a)
        }
    }

    /// An array as `GGUFFile` read it, keeping its element type even when it is empty.
    init(_ array: GGUFArray) {
        switch array {
        case .uint8(let a): self = .array(elementType: 0, a.map { .uint8($0) })
        case .int8(let a): self = .array(elementType: 1, a.map { .int8($0) })
        case .uint16(let a): self = .array(elementType: 2, a.map { .uint16($0) })
        case .int16(let a): self = .array(elementType: 3, a.map { .int16($0) })
        case .uint32(let a): self = .array(elementType: 4, a.map { .uint32($0) })
        case .int32(let a): self = .array(elementType: 5, a.map { .int32($0) })
        case .float32(let a): self = .array(elementType: 6, a.map { .float32($0) })
        case .bool(let a): self = .array(elementType: 7, a.map { .bool($0) })
        case .string(let a): self = .array(elementType: 8, a.map { .string($0) })
        case .array(let a): self = .array(elementType: 9, a.map { GGUFTestWriter.Value($0) })
        case .uint64(let a): self = .array(elementType: 10, a.map { .uint64($0) })
        case .int64(let a): self = .array(elementType: 11, a.map { .int64($0) })
        case .float64(let a): self = .array(elementType: 12, a.map { .float64($0) })
        }
    }
}
