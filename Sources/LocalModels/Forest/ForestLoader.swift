#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads a tree-ensemble model file in any supported format.
///
/// The format is the one given, or else guessed from the file name (`.onnx`, `.json`, `.txt`)
/// and, failing that, from the first bytes: LightGBM text opens with `tree` or `version=`,
/// XGBoost JSON with `{`, anything else is read as ONNX protobuf.
public enum ForestLoader {
    /// Reads and loads the file at `path`. Reading is the only I/O; the caller chooses when.
    public static func load(contentsOf path: String, format: ForestFormat? = nil) throws(ForestLoadError) -> ForestModel {
        let bytes = try readFile(path)
        return try load(bytes: bytes, file: path, format: format)
    }

    public static func load(bytes: [UInt8], file: String, format: ForestFormat? = nil) throws(ForestLoadError) -> ForestModel {
        guard !bytes.isEmpty else { throw ForestLoadError(file: file, part: "", reason: "the file is empty") }
        switch format ?? guessFormat(bytes: bytes, file: file) {
        case .onnx: return try ONNXForestLoader.load(bytes: bytes, file: file)
        case .xgboost: return try XGBoostLoader.load(bytes: bytes, file: file)
        case .lightgbm: return try LightGBMLoader.load(bytes: bytes, file: file)
        }
    }

    public static func guessFormat(bytes: [UInt8], file: String) -> ForestFormat {
        let lower = file.lowercased()
        if lower.hasSuffix(".onnx") { return .onnx }
        if lower.hasSuffix(".json") { return .xgboost }
        if lower.hasSuffix(".txt") { return .lightgbm }
        let head = bytes.prefix(16).drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
        if head.starts(with: Array("tree".utf8)) || head.starts(with: Array("version=".utf8)) { return .lightgbm }
        if head.first == UInt8(ascii: "{") { return .xgboost }
        return .onnx
    }

    /// The whole file, or an error that says why it could not be read.
    static func readFile(_ path: String) throws(ForestLoadError) -> [UInt8] {
        guard let handle = fopen(path, "rb") else {
            throw ForestLoadError(file: path, part: "", reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count {
                if ferror(handle) != 0 {
                    throw ForestLoadError(file: path, part: "", reason: "read failed: \(String(cString: strerror(errno)))")
                }
                break
            }
        }
        return bytes
    }
}
