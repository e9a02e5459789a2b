import Synchronization

/// Deterministic completions found by their tokens, for answers that a cached completion
/// already holds: a prompt that is an earlier prompt plus the start of its completion, or the
/// same prompt with a smaller token limit.
///
/// Records are grouped in families: one family is one model, one cache scope and route, and
/// one set of sampling settings under which the same tokens always continue the same way.
/// Within a family a record is found by the hash of its prompt's tokens, so a lookup hashes
/// each prefix of the query once and costs one probe per query token, however many records
/// there are. Every candidate is compared token by token before it is returned.
///
/// Memory is bounded by `capacityBytes` (the caller says what each record weighs); the least
/// recently used records go first.
public final class ContinuationIndex<Value: Sendable>: CacheSideIndex {
    public struct Record: Sendable {
        public let metadata: EntryMetadata
        public let family: UInt64
        public let prompt: [Int32]
        public let completion: [Int32]
        /// The model ended the completion itself (end of generation): nothing follows its last
        /// token. Otherwise the completion was cut (a token limit, a stop string) and what
        /// follows is unknown.
        public let isFinal: Bool
        public let value: Value
        let bytes: Int
    }

    /// A record whose prompt plus its first `offset` completion tokens is the query.
    public struct Match: Sendable {
        public let record: Record
        public let offset: Int
        /// Completion tokens after the query's end.
        public var remaining: ArraySlice<Int32> { record.completion[offset...] }
    }

    private struct Slot {
        var record: Record
        var promptHash: UInt64
        var lastUsed: UInt64
    }

    private struct State {
        var slots: [UInt64: Slot] = [:]
        var byPrompt: [UInt64: [UInt64]] = [:]
        var familyCounts: [UInt64: Int] = [:]
        var bytes = 0
        var nextID: UInt64 = 0
        var clock: UInt64 = 0
    }

    public let capacityBytes: Int
    private let state = Mutex(State())

    public init(capacityBytes: Int) {
        self.capacityBytes = max(0, capacityBytes)
    }

    public var count: Int { state.withLock { $0.slots.count } }
    public var bytes: Int { state.withLock { $0.bytes } }

    /// Whether any record of `family` is held: a cheap test before tokenising a request.
    public func holds(family: UInt64) -> Bool {
        state.withLock { $0.familyCounts[family] != nil }
    }

    /// Adds a completion unless a record of the same prompt already covers it; drops the
    /// records of that prompt it covers. `valueBytes` is the weight of `value`.
    public func insert(
        metadata: EntryMetadata,
        family: UInt64,
        prompt: [Int32],
        completion: [Int32],
        isFinal: Bool,
        value: Value,
        valueBytes: Int,
        now: Double
    ) {
        let weight = 160 + 4 * (prompt.count + completion.count) + max(0, valueBytes)
        guard weight <= capacityBytes, !prompt.isEmpty else { return }
        let record = Record(
            metadata: metadata, family: family, prompt: prompt, completion: completion, isFinal: isFinal,
            value: value, bytes: weight)
        let promptHash = Self.hashes(of: prompt[...], family: family).last!
        state.withLock { state in
            state.clock += 1
            for id in state.byPrompt[promptHash] ?? [] {
                guard let slot = state.slots[id], slot.record.family == family, slot.record.prompt == prompt else { continue }
                if Self.covers(slot.record, record) {
                    state.slots[id]?.lastUsed = state.clock
                    return
                }
                if Self.covers(record, slot.record) || slot.record.metadata.key == metadata.key {
                    Self.remove(id, from: &state)
                }
            }
            let id = state.nextID
            state.nextID += 1
            state.slots[id] = Slot(record: record, promptHash: promptHash, lastUsed: state.clock)
            state.byPrompt[promptHash, default: []].append(id)
            state.familyCounts[family, default: 0] += 1
            state.bytes += weight
            if state.bytes > capacityBytes { evict(&state, now: now) }
        }
    }

    /// The live records that continue `query` in `family`, the one that knows most first.
    /// `maxOffset` bounds how many completion tokens the query may already hold (0: the
    /// query must be a record's prompt exactly); `accepts` may refuse a record by its metadata
    /// (a client's `max-age`).
    public func lookup(
        family: UInt64,
        query: [Int32],
        maxOffset: Int = .max,
        now: Double,
        accepts: (EntryMetadata) -> Bool = { _ in true }
    ) -> [Match] {
        guard !query.isEmpty, holds(family: family) else { return [] }
        let hashes = Self.hashes(of: query[...], family: family)
        return state.withLock { state in
            state.clock += 1
            var matches: [Match] = []
            var expired: [UInt64] = []
            let shortest = max(1, query.count - max(0, maxOffset))
            for length in stride(from: query.count, through: shortest, by: -1) {
                guard let ids = state.byPrompt[hashes[length - 1]] else { continue }
                for id in ids {
                    guard let slot = state.slots[id] else { continue }
                    let record = slot.record
                    let offset = query.count - length
                    guard record.family == family, record.prompt.count == length, offset <= record.completion.count,
                        record.prompt.elementsEqual(query[..<length]),
                        record.completion[..<offset].elementsEqual(query[length...])
                    else { continue }
                    if record.metadata.isExpired(now: now) {
                        expired.append(id)
                        continue
                    }
                    guard accepts(record.metadata) else { continue }
                    state.slots[id]?.lastUsed = state.clock
                    matches.append(Match(record: record, offset: offset))
                }
            }
            for id in expired { Self.remove(id, from: &state) }
            return matches.sorted { a, b in
                if a.record.isFinal != b.record.isFinal { return a.record.isFinal }
                return a.remaining.count > b.remaining.count
            }
        }
    }

    @discardableResult
    public func purge(_ selector: PurgeSelector, now: Double) -> Int {
        state.withLock { state in
            if selector.isEmpty {
                let count = state.slots.count
                state = State(nextID: state.nextID, clock: state.clock)
                return count
            }
            let doomed = state.slots.filter { selector.matches($0.value.record.metadata, now: now) }.keys
            for id in doomed { Self.remove(id, from: &state) }
            return doomed.count
        }
    }

    /// Whether `a` tells at least what `b` does: same prompt, `b`'s completion starts `a`'s,
    /// and `a` is longer or ends no less surely.
    private static func covers(_ a: Record, _ b: Record) -> Bool {
        guard a.completion.count >= b.completion.count, a.completion.starts(with: b.completion) else { return false }
        return a.completion.count > b.completion.count || a.isFinal || !b.isFinal
    }

    private static func remove(_ id: UInt64, from state: inout State) {
        guard let slot = state.slots.removeValue(forKey: id) else { return }
        state.bytes -= slot.record.bytes
        if var ids = state.byPrompt[slot.promptHash] {
            ids.removeAll { $0 == id }
            state.byPrompt[slot.promptHash] = ids.isEmpty ? nil : ids
        }
        let family = slot.record.family
        if let count = state.familyCounts[family], count > 1 {
            state.familyCounts[family] = count - 1
        } else {
            state.familyCounts[family] = nil
        }
    }

    /// Drops expired records, then the least recently used, until a tenth of the budget is free
    /// (so a full index does not sort on every insert).
    private func evict(_ state: inout State, now: Double) {
        for (id, slot) in state.slots where slot.record.metadata.isExpired(now: now) { Self.remove(id, from: &state) }
        let target = capacityBytes - capacityBytes / 10
        guard state.bytes > target else { return }
        let order = state.slots.sorted { $0.value.lastUsed < $1.value.lastUsed }.map(\.key)
        for id in order {
            guard state.bytes > target else { break }
            Self.remove(id, from: &state)
        }
    }

    /// `hashes[i]` is the hash of the family and the first `i + 1` tokens.
    static func hashes(of tokens: ArraySlice<Int32>, family: UInt64) -> [UInt64] {
        var result: [UInt64] = []
        result.reserveCapacity(tokens.count)
        var h = family ^ 0x243F_6A88_85A3_08D3
        for token in tokens {
            h = mix(h ^ UInt64(UInt32(bitPattern: token)))
            result.append(h)
        }
        return result
    }

    /// SplitMix64's finaliser: every input bit moves about half the output bits.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
