import Synchronization

/// Embeddings of cached prompts, searched by cosine similarity, for the semantic cache: a
/// request whose prompt means nearly the same as a cached one's may take its answer.
///
/// Vectors are grouped in families (one cache scope, route, encoder, and everything of the
/// request that is not embedded: sampling settings, the messages that must match exactly), and a
/// search only looks within its own family. Vectors are stored L2-normalised, so a dot product is
/// the cosine. Searches scan the family's vectors (a few thousand per family search in well under
/// a millisecond). At most `capacity` vectors are held, the least recently used going first.
public final class SemanticIndex: CacheSideIndex {
    public struct Match: Sendable {
        /// The cached entry the vector belongs to.
        public let metadata: EntryMetadata
        /// Cosine similarity to the query, in [-1, 1].
        public let similarity: Float
    }

    private struct Family {
        var dimensions: Int
        /// Row-major: vector `i` is `vectors[i * dimensions ..< (i + 1) * dimensions]`.
        var vectors: [Float] = []
        var metadata: [EntryMetadata] = []
        var lastUsed: [UInt64] = []

        var count: Int { metadata.count }

        mutating func remove(at index: Int) {
            let last = count - 1
            if index != last {
                for d in 0..<dimensions { vectors[index * dimensions + d] = vectors[last * dimensions + d] }
                metadata[index] = metadata[last]
                lastUsed[index] = lastUsed[last]
            }
            vectors.removeLast(dimensions)
            metadata.removeLast()
            lastUsed.removeLast()
        }
    }

    private struct State {
        var families: [UInt64: Family] = [:]
        var count = 0
        var clock: UInt64 = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    public var count: Int { state.withLock { $0.count } }

    /// Adds the embedding of an entry's prompt; an earlier vector for the same key is replaced.
    /// A vector of another length than the family's, or of no length, is ignored.
    public func insert(family: UInt64, vector: [Float], metadata: EntryMetadata, now: Double) {
        guard capacity > 0, let unit = Self.normalized(vector) else { return }
        state.withLock { state in
            state.clock += 1
            var group = state.families.removeValue(forKey: family) ?? Family(dimensions: unit.count)
            defer { state.families[family] = group.count == 0 ? nil : group }
            guard group.dimensions == unit.count else { return }
            if let existing = group.metadata.firstIndex(where: { $0.key == metadata.key }) {
                group.remove(at: existing)
                state.count -= 1
            }
            group.vectors.append(contentsOf: unit)
            group.metadata.append(metadata)
            group.lastUsed.append(state.clock)
            state.count += 1
            if state.count > capacity {
                state.families[family] = group
                Self.evict(&state, capacity: capacity, now: now)
                group = state.families.removeValue(forKey: family) ?? Family(dimensions: unit.count)
            }
        }
    }

    /// The live entry of `family` most similar to `vector`, if its similarity reaches
    /// `threshold`. `accepts` may refuse an entry by its metadata (a client's `max-age`).
    public func search(
        family: UInt64, vector: [Float], threshold: Float, now: Double,
        accepts: (EntryMetadata) -> Bool = { _ in true }
    ) -> Match? {
        guard let query = Self.normalized(vector) else { return nil }
        return state.withLock { state -> Match? in
            // Taken out while it changes, so its arrays are not copied.
            guard var group = state.families.removeValue(forKey: family) else { return nil }
            defer { state.families[family] = group.count == 0 ? nil : group }
            guard group.dimensions == query.count else { return nil }
            state.clock += 1
            var best: (index: Int, similarity: Float)?
            var expired: [Int] = []
            group.vectors.withUnsafeBufferPointer { rows in
                query.withUnsafeBufferPointer { q in
                    for i in 0..<group.count {
                        let similarity = Self.dot(q.baseAddress!, rows.baseAddress! + i * group.dimensions, group.dimensions)
                        guard similarity >= threshold, similarity > (best?.similarity ?? -.infinity) else { continue }
                        if group.metadata[i].isExpired(now: now) {
                            expired.append(i)
                        } else if accepts(group.metadata[i]) {
                            best = (i, similarity)
                        }
                    }
                }
            }
            var match: Match?
            if let best {
                group.lastUsed[best.index] = state.clock
                match = Match(metadata: group.metadata[best.index], similarity: min(1, best.similarity))
            }
            // Highest index first, so the indexes still to remove stay valid.
            for index in expired.sorted(by: >) {
                group.remove(at: index)
                state.count -= 1
            }
            return match
        }
    }

    /// Forgets the vector of `key` (its entry is gone).
    public func remove(key: CacheKey) {
        state.withLock { state in
            Self.removeAll(from: &state) { $0.key == key }
        }
    }

    @discardableResult
    public func purge(_ selector: PurgeSelector, now: Double) -> Int {
        state.withLock { state in
            Self.removeAll(from: &state) { selector.matches($0, now: now) }
        }
    }

    private static func removeAll(from state: inout State, where doomed: (EntryMetadata) -> Bool) -> Int {
        var removed = 0
        for (id, var group) in state.families {
            var index = group.count - 1
            while index >= 0 {
                if doomed(group.metadata[index]) {
                    group.remove(at: index)
                    removed += 1
                }
                index -= 1
            }
            state.families[id] = group.count == 0 ? nil : group
        }
        state.count -= removed
        return removed
    }

    /// Drops expired vectors, then the least recently used, until a tenth of the room is free.
    private static func evict(_ state: inout State, capacity: Int, now: Double) {
        _ = removeAll(from: &state) { $0.isExpired(now: now) }
        let target = capacity - capacity / 10
        guard state.count > target else { return }
        var ages: [UInt64] = []
        for group in state.families.values { ages.append(contentsOf: group.lastUsed) }
        ages.sort()
        let cutoff = ages[state.count - target - 1]
        var removed = 0
        for (id, var group) in state.families {
            var index = group.count - 1
            while index >= 0 {
                if group.lastUsed[index] <= cutoff {
                    group.remove(at: index)
                    removed += 1
                }
                index -= 1
            }
            state.families[id] = group.count == 0 ? nil : group
        }
        state.count -= removed
    }

    static func normalized(_ vector: [Float]) -> [Float]? {
        guard !vector.isEmpty else { return nil }
        var sum: Float = 0
        for x in vector { sum += x * x }
        guard sum > 0, sum.isFinite else { return nil }
        let scale = 1 / sum.squareRoot()
        return vector.map { $0 * scale }
    }

    private static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var sum = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            sum += x * y
            i += 8
        }
        var total = sum.sum()
        while i < n {
            total += a[i] * b[i]
            i += 1
        }
        return total
    }
}
