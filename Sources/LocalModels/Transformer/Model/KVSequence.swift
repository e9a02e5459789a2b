/// One sequence's view of a `KVCache`: the blocks that hold its positions, in order.
///
/// Position `p` lives in slot `p % blockTokens` of block `blocks[p / blockTokens]`. The sequence
/// holds one reference on each of its blocks and gives them back when it is truncated or
/// deinitialised, so dropping a sequence frees its memory. A sequence is used by one evaluation
/// at a time (the scheduler's job); sharing between sequences goes through `fork(prefix:)`.
public final class KVSequence: @unchecked Sendable {
    public let cache: KVCache
    /// Positions stored: the next evaluated token goes to position `count`.
    public internal(set) var count = 0
    /// Block ids, `ceil(count / blockTokens)` of them once positions are written.
    public internal(set) var blocks: [Int32] = []

    init(cache: KVCache) {
        self.cache = cache
    }

    deinit {
        let blocks = blocks
        if !blocks.isEmpty { cache.state.withLock { $0.release(blocks) } }
    }

    /// A new sequence whose first `prefix` positions are this one's, sharing its blocks (no copy).
    ///
    /// Either sequence copies a shared block before writing into it, so the two diverge safely.
    public func fork(prefix: Int? = nil) -> KVSequence {
        let length = max(0, min(prefix ?? count, count))
        let other = KVSequence(cache: cache)
        let shared = Array(blocks.prefix(cache.blocksCovering(length)))
        cache.state.withLock { $0.retain(shared) }
        other.blocks = shared
        other.count = length
        return other
    }

    /// Forgets every position from `length` on (for rollback or to reuse a shorter prefix),
    /// returning the blocks no longer needed.
    public func truncate(to length: Int) {
        guard length < count else { return }
        let keep = cache.blocksCovering(max(length, 0))
        let dropped = Array(blocks[keep...])
        blocks.removeLast(blocks.count - keep)
        count = max(length, 0)
        if !dropped.isEmpty { cache.state.withLock { $0.release(dropped) } }
    }
}
