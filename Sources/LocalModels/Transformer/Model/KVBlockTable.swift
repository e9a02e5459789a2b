/// The bookkeeping of a `KVCache`'s blocks: a reference count per block and a free list.
///
/// A value type behind the cache's lock; it never touches block memory.
struct KVBlockTable: Sendable {
    private var referenceCounts: [Int32]
    /// Free blocks, popped from the end so that low block ids are used first.
    private var free: [Int32]

    init(capacity: Int) {
        referenceCounts = [Int32](repeating: 0, count: capacity)
        free = (0..<Int32(capacity)).reversed()
    }

    var freeCount: Int { free.count }
    var inUse: Int { referenceCounts.count - free.count }

    func referenceCount(_ block: Int32) -> Int32 { referenceCounts[Int(block)] }

    /// `count` fresh blocks with a reference count of 1, or nil (and nothing taken) when fewer are free.
    mutating func allocate(_ count: Int) -> [Int32]? {
        guard count <= free.count else { return nil }
        let taken = Array(free.suffix(count).reversed())
        free.removeLast(count)
        for block in taken { referenceCounts[Int(block)] = 1 }
        return taken
    }

    mutating func retain<S: Sequence<Int32>>(_ blocks: S) {
        for block in blocks {
            precondition(referenceCounts[Int(block)] > 0, "retain of a free KV block")
            referenceCounts[Int(block)] += 1
        }
    }

    mutating func release<S: Sequence<Int32>>(_ blocks: S) {
        for block in blocks {
            precondition(referenceCounts[Int(block)] > 0, "release of a free KV block")
            referenceCounts[Int(block)] -= 1
            if referenceCounts[Int(block)] == 0 { free.append(block) }
        }
    }
}
