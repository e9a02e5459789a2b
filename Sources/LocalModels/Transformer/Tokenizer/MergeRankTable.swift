/// BPE merge ranks keyed by the pair of string ids, an open-addressing map with no per-lookup hashing of text.
struct MergeRankTable: Sendable {
    private var keys: [UInt64]
    private var ranks: [Int32]
    private var mask: Int
    private(set) var count = 0

    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = Array(repeating: Self.empty, count: size)
        ranks = Array(repeating: 0, count: size)
        mask = size - 1
    }

    /// Keeps the first rank of a pair listed twice (llama.cpp uses `emplace`).
    mutating func insertIfAbsent(left: Int32, right: Int32, rank: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let key = Self.key(left, right)
        var slot = Self.slot(key, mask)
        while keys[slot] != Self.empty {
            if keys[slot] == key { return }
            slot = (slot + 1) & mask
        }
        keys[slot] = key
        ranks[slot] = rank
        count += 1
    }

    /// The rank of merging `left` and `right`, or -1.
    func rank(left: Int32, right: Int32) -> Int32 {
        let key = Self.key(left, right)
        var slot = Self.slot(key, mask)
        while true {
            let k = keys[slot]
            if k == key { return ranks[slot] }
            if k == Self.empty { return -1 }
            slot = (slot + 1) & mask
        }
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9e37_79b9_7f4a_7c15) >> 20) & mask
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldRanks = ranks
        keys = Array(repeating: Self.empty, count: oldKeys.count * 2)
        ranks = Array(repeating: 0, count: oldKeys.count * 2)
        mask = keys.count - 1
        for (i, key) in oldKeys.enumerated() where key != Self.empty {
            var slot = Self.slot(key, mask)
            while keys[slot] != Self.empty { slot = (slot + 1) & mask }
            keys[slot] = key
            ranks[slot] = oldRanks[i]
        }
    }
}
