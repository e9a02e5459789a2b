/// A count-min sketch of how often keys were requested recently, for TinyLFU admission.
///
/// Counters are 4 bits wide, sixteen to a `UInt64` word, as in Caffeine's `FrequencySketch`:
/// popularity only needs to be compared, never counted exactly, and 4 bits keep the table at
/// about 8 bytes per expected entry. Each key touches four counters, one per hash function,
/// and its estimate is the smallest of the four, so collisions can only over-estimate.
/// As in Caffeine 3, a key's four counters sit in one 64-byte block (two words per row), so
/// an increment costs one cache miss rather than four: it runs on every cache hit.
///
/// The sketch *ages*: after `sampleSize` increments (10 x the expected entry count) every
/// counter is halved, so keys that were hot long ago stop outranking keys that are hot now.
///
/// With `doorkeeper` on, a key's first sighting only sets a bit in a small Bloom filter and
/// leaves the counters alone; one-hit wonders (most of a scan) then never pollute the
/// counters. The doorkeeper is cleared at each aging step.
///
/// Not thread-safe: a `MemoryTier` shard keeps one behind its lock.
public struct FrequencySketch: Sendable {
    private static let resetMask: UInt64 = 0x7777_7777_7777_7777
    private static let oneMask: UInt64 = 0x1111_1111_1111_1111

    private var table: [UInt64]
    /// Blocks of eight words (64 bytes) minus one; the table length is a power of two.
    private var blockMask: Int
    private var doorkeeperBits: [UInt64]?

    /// Increments recorded since the last aging step.
    public private(set) var size: Int = 0
    /// Increments between two aging steps.
    public private(set) var sampleSize: Int
    /// The entry count the table was sized for.
    public private(set) var capacity: Int

    /// - Parameters:
    ///   - expectedEntries: how many distinct keys the owning cache holds at most; the table
    ///     gets the next power of two of words.
    ///   - doorkeeper: filter out first sightings (see the type's documentation).
    public init(expectedEntries: Int, doorkeeper: Bool = false) {
        let capacity = max(1, expectedEntries)
        let words = Self.tableLength(for: capacity)
        self.capacity = capacity
        self.table = [UInt64](repeating: 0, count: words)
        self.blockMask = (words >> 3) - 1
        self.sampleSize = 10 * capacity
        self.doorkeeperBits = doorkeeper ? [UInt64](repeating: 0, count: words) : nil
    }

    public var hasDoorkeeper: Bool { doorkeeperBits != nil }

    /// Grows the table when the cache holds more entries than it was sized for. Counts are
    /// lost, as in Caffeine: a rare, one-off cost that keeps estimates from saturating.
    public mutating func ensureCapacity(_ expectedEntries: Int) {
        guard expectedEntries > capacity else { return }
        self = FrequencySketch(expectedEntries: expectedEntries, doorkeeper: hasDoorkeeper)
    }

    public mutating func increment(_ key: CacheKey) {
        increment(hash: key.shardHash)
    }

    /// Estimated recent frequency, 0...15 (0...16 with a doorkeeper).
    public func frequency(_ key: CacheKey) -> Int {
        frequency(hash: key.shardHash)
    }

    public mutating func increment(hash rawHash: UInt64) {
        let blockHash = Self.spread(rawHash)
        var added: Bool
        if doorkeeperBits != nil, !doorkeeperInsert(blockHash) {
            added = true
        } else {
            let (block, counterHash) = locate(blockHash)
            // One uniqueness check for the four writes instead of one per write.
            added = table.withUnsafeMutableBufferPointer { table in
                var added = false
                for row in 0..<4 {
                    let (slot, shift) = Self.counter(row: row, block: block, counterHash: counterHash)
                    let mask: UInt64 = 0xf << shift
                    if table[slot] & mask != mask {
                        table[slot] &+= 1 << shift
                        added = true
                    }
                }
                return added
            }
        }
        // Saturated keys do not advance the clock, as in Caffeine.
        if added {
            size += 1
            if size >= sampleSize { age() }
        }
    }

    public func frequency(hash rawHash: UInt64) -> Int {
        let blockHash = Self.spread(rawHash)
        let (block, counterHash) = locate(blockHash)
        var minimum = 15
        for row in 0..<4 {
            let (slot, shift) = Self.counter(row: row, block: block, counterHash: counterHash)
            minimum = min(minimum, Int(truncatingIfNeeded: (table[slot] >> shift) & 0xf))
        }
        if doorkeeperBits != nil, doorkeeperContains(blockHash) {
            minimum += 1
        }
        return minimum
    }

    /// Halves every counter and clears the doorkeeper, so old popularity fades.
    public mutating func age() {
        var odd = 0
        for i in table.indices {
            odd += (table[i] & Self.oneMask).nonzeroBitCount
            table[i] = (table[i] >> 1) & Self.resetMask
        }
        // Halving drops the odd remainders; Caffeine subtracts a quarter of them (four counters
        // per key) so `size` tracks the halved counts.
        size = max(0, (size - (odd >> 2)) >> 1)
        if doorkeeperBits != nil {
            for i in doorkeeperBits!.indices { doorkeeperBits![i] = 0 }
        }
    }

    // MARK: - Internals

    private static func tableLength(for capacity: Int) -> Int {
        var length = 8
        while length < capacity, length < 1 << 30 { length <<= 1 }
        return length
    }

    /// Re-mixes the key's hash: a shard's keys all share the bits that chose the shard.
    private static func spread(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// The key's block (first word index) and a second hash that picks counters within it.
    @inline(__always)
    private func locate(_ blockHash: UInt64) -> (block: Int, counterHash: UInt64) {
        let block = (Int(truncatingIfNeeded: blockHash >> 32) & blockMask) << 3
        return (block, Self.spread(blockHash ^ 0xc3a5_c85c_97cb_3127))
    }

    /// Row `row` owns words `2 * row` and `2 * row + 1` of the block; 16 bits of the counter
    /// hash pick the word and one of its sixteen counters.
    @inline(__always)
    private static func counter(row: Int, block: Int, counterHash: UInt64) -> (slot: Int, shift: UInt64) {
        let h = Int(truncatingIfNeeded: counterHash >> UInt64(row << 4))
        return (block + (row << 1) + (h & 1), UInt64(((h >> 1) & 15) << 2))
    }

    /// Two bit positions per key; returns whether the key was already present.
    private mutating func doorkeeperInsert(_ hash: UInt64) -> Bool {
        let present = doorkeeperContains(hash)
        let bits = doorkeeperBits!.count * 64
        let a = Int(truncatingIfNeeded: hash) & (bits - 1)
        let b = Int(truncatingIfNeeded: hash >> 32) & (bits - 1)
        doorkeeperBits![a >> 6] |= 1 << UInt64(a & 63)
        doorkeeperBits![b >> 6] |= 1 << UInt64(b & 63)
        return present
    }

    private func doorkeeperContains(_ hash: UInt64) -> Bool {
        guard let bitsArray = doorkeeperBits else { return false }
        let bits = bitsArray.count * 64
        let a = Int(truncatingIfNeeded: hash) & (bits - 1)
        let b = Int(truncatingIfNeeded: hash >> 32) & (bits - 1)
        return bitsArray[a >> 6] & (1 << UInt64(a & 63)) != 0 && bitsArray[b >> 6] & (1 << UInt64(b & 63)) != 0
    }
}
