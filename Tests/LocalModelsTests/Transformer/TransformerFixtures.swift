import Foundation

/// Where the transformer fixtures live: `Fixtures/transformer/<area>/...`, written by the
/// scripts in `scripts/` (each area's README names its script).
enum TransformerFixtures {
    static let root: URL = Bundle.module.resourceURL!
        .appendingPathComponent("Fixtures").appendingPathComponent("transformer")

    static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }

    static func path(_ relativePath: String) -> String {
        url(relativePath).path
    }

    static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    /// A little-endian float32 file as an array.
    static func floats(_ relativePath: String) throws -> [Float] {
        let bytes = try data(relativePath)
        return bytes.withUnsafeBytes { raw in
            (0..<(bytes.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
