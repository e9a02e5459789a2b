#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A GGUF model file (versions 2 and 3), memory-mapped read-only.
///
/// Opening parses the header, the metadata and the tensor table and checks that every tensor
/// lies inside the file; tensor data is not touched until it is read. The mapping lives as long
/// as this object, so pointers from `data(of:)` are valid while it is retained.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensors in file order.
    public let tensors: [GGUFTensor]
    public let alignment: Int
    /// Bytes in the file.
    public let fileSize: Int

    private let tensorIndex: [String: Int]
    private let base: UnsafeRawPointer
    private let mappedLength: Int

    /// Opens and parses `path`. Throws `GGUFLoadError` for a missing, truncated or malformed file.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GGUFLoadError(file: path, part: "", reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GGUFLoadError(file: path, part: "", reason: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFLoadError(file: path, part: "", reason: "not a regular file")
        }
        let size = Int(info.st_size)
        guard size >= 24 else {
            throw GGUFLoadError(file: path, part: "header", reason: "file is \(size) bytes, too short for a GGUF header")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw GGUFLoadError(file: path, part: "", reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        var parsed: GGUFParser.Result
        do {
            var parser = GGUFParser(bytes: UnsafeRawBufferPointer(start: mapped, count: size), file: path)
            parsed = try parser.parse()
        } catch {
            munmap(mapped, size)
            throw error
        }
        self.base = UnsafeRawPointer(mapped)
        self.mappedLength = size
        self.fileSize = size
        self.version = parsed.version
        self.metadata = parsed.metadata
        self.metadataKeys = parsed.metadataKeys
        self.tensors = parsed.tensors
        self.alignment = parsed.alignment
        var index: [String: Int] = [:]
        for (i, t) in parsed.tensors.enumerated() { index[t.name] = i }
        self.tensorIndex = index
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
    }

    public func tensor(named name: String) -> GGUFTensor? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The bytes of a tensor of this file.
    public func data(of tensor: GGUFTensor) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + tensor.fileOffset, count: tensor.byteCount)
    }

    // MARK: Typed metadata lookups

    public func string(_ key: String) -> String? { metadata[key]?.string }
    public func integer(_ key: String) -> Int? { metadata[key]?.integer }
    public func double(_ key: String) -> Double? { metadata[key]?.double }
    public func bool(_ key: String) -> Bool? { metadata[key]?.bool }
    public func array(_ key: String) -> GGUFArray? { metadata[key]?.array }

    /// `general.architecture` ("llama", "qwen2", "bert").
    public var architecture: String? { string("general.architecture") }
}
