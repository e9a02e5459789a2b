/// The stable hash of a prompt prefix that prefix-affinity routing places on a
/// ``ConsistentHashRing``.
public enum AffinityKey {
    /// Hash of `text`, the same across processes and restarts.
    public static func hash(_ text: some StringProtocol) -> UInt64 {
        StableHash.hash(text.utf8)
    }

    /// Hash of the first `chars` characters of `text` (all of it when shorter).
    public static func hash(prefixOf text: String, chars: Int) -> UInt64 {
        hash(text.prefix(max(0, chars)))
    }
}
