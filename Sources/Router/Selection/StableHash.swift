/// A 64-bit hash that is the same in every process and on every machine: FNV-1a over the
/// UTF-8 bytes, then MurmurHash3's 64-bit finalizer.
///
/// Swift's `Hasher` is seeded per process, which would send a prompt prefix to a different
/// replica after every restart (and differently on each gateway instance). FNV-1a alone
/// mixes its last bytes weakly into the high bits, which ring lookups compare first;
/// the finalizer spreads them.
enum StableHash {
    static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return finalize(hash)
    }

    static func finalize(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x &*= 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }
}
