import CCrypto

/// Incremental SHA-256 over libcrypto, kept on the stack: no allocation per digest.
public struct SHA256Hasher {
    private var context = tg_sha256_ctx()

    public init() {
        tg_sha256_init(&context)
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        tg_sha256_update(&context, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ string: String) {
        var string = string
        string.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Feeds a length-prefixed field so that ("ab","c") and ("a","bc") never collide.
    public mutating func updateField(_ string: String) {
        var length = UInt64(string.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { update($0) }
        update(string)
    }

    public mutating func updateField(_ bytes: UnsafeRawBufferPointer) {
        var length = UInt64(bytes.count).littleEndian
        withUnsafeBytes(of: &length) { update($0) }
        update(bytes)
    }

    public mutating func finalize() -> CacheKey {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &digest) { raw in
            tg_sha256_final(&context, raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return CacheKey(words: digest)
    }
}
