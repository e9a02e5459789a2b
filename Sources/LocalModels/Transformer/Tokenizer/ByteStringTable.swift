#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte strings to dense ids, looked up by byte range without allocating.
///
/// Token texts are compared as bytes, as llama.cpp compares `std::string`s: Swift `String` equality would treat
/// "é" and "e\u{301}" as the same key and give the wrong id.
struct ByteStringTable: Sendable {
    private var storage: [UInt8] = []
    /// `starts[i] ..< starts[i + 1]` is string `i` in `storage`.
    private var starts: [Int] = [0]
    /// Open addressing: string index + 1, 0 when empty.
    private var slots: [Int32]
    private var mask: Int
    /// Slots are picked from the top bits of the hash: `64 - log2(slots.count)`.
    private var shift: UInt64

    var count: Int { starts.count - 1 }

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: 0, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    /// The id of `bytes`, or -1.
    func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        var slot = Int(truncatingIfNeeded: Self.hash(bytes) >> shift)
        return storage.withUnsafeBufferPointer { store in
            while true {
                let entry = Int(slots[slot])
                if entry == 0 { return -1 }
                let start = starts[entry - 1]
                let end = starts[entry]
                if end - start == bytes.count
                    && (bytes.isEmpty || memcmp(store.baseAddress! + start, bytes.baseAddress!, bytes.count) == 0)
                {
                    return Int32(entry - 1)
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func find(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { find($0) }
    }

    /// Appends `bytes` under the next id and returns it, or returns the id it already has.
    @discardableResult
    mutating func insert(_ bytes: [UInt8]) -> (id: Int32, inserted: Bool) {
        let existing = find(bytes)
        if existing >= 0 { return (existing, false) }
        if (count + 1) * 2 > slots.count { grow() }
        storage.append(contentsOf: bytes)
        starts.append(storage.count)
        let id = count - 1
        place(id)
        return (Int32(id), true)
    }

    /// The bytes of string `id`.
    func bytes(_ id: Int32) -> ArraySlice<UInt8> {
        storage[starts[Int(id)] ..< starts[Int(id) + 1]]
    }

    private mutating func place(_ id: Int) {
        let hash = storage.withUnsafeBufferPointer { store in
            Self.hash(UnsafeBufferPointer(rebasing: store[starts[id] ..< starts[id + 1]]))
        }
        var slot = Int(truncatingIfNeeded: hash >> shift)
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(id + 1)
    }

    private mutating func grow() {
        slots = Array(repeating: 0, count: slots.count * 2)
        mask = slots.count - 1
        shift -= 1
        for id in 0 ..< count { place(id) }
    }

    /// FNV-1a, then a multiply whose top bits (the ones used for the slot) depend on every input bit.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return (h ^ (h >> 32)) &* 0x9e37_79b9_7f4a_7c15
    }
}
