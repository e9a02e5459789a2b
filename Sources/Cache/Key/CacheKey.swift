/// A SHA-256 digest naming one cache entry. Stored as four words so that hashing and
/// equality on the hit path are a handful of instructions.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public let w0: UInt64
    public let w1: UInt64
    public let w2: UInt64
    public let w3: UInt64

    /// The words hold the digest bytes in memory order (as written by SHA256_Final).
    public init(words: (UInt64, UInt64, UInt64, UInt64)) {
        (w0, w1, w2, w3) = words
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        var words = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: bytes) }
        self.init(words: words)
    }

    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in 0..<32 {
            guard let high = Self.nibble(utf8[2 * index]), let low = Self.nibble(utf8[2 * index + 1]) else {
                return nil
            }
            bytes[index] = high << 4 | low
        }
        self.init(bytes: bytes)
    }

    public var bytes: [UInt8] {
        var words = (w0, w1, w2, w3)
        return withUnsafeBytes(of: &words) { Array($0) }
    }

    /// Lower-case hex of the 32 digest bytes.
    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    /// A well-mixed 64-bit value for sharding and sketches (the digest is already uniform).
    public var shardHash: UInt64 { w0 ^ w2 }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
