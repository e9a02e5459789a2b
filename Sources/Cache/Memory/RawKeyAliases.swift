import Synchronization

/// What a raw request body resolved to last time: the canonical entry key and the two
/// client choices that the canonical key leaves out (so the reply can be shaped without
/// parsing the body again).
public struct RawAlias: Sendable, Equatable {
    public var canonical: CacheKey
    public var wantsStream: Bool
    public var includeUsage: Bool

    public init(canonical: CacheKey, wantsStream: Bool, includeUsage: Bool) {
        self.canonical = canonical
        self.wantsStream = wantsStream
        self.includeUsage = includeUsage
    }
}

/// Maps a key over the raw request bytes to the canonical key, so a byte-identical repeat
/// skips JSON parsing and canonicalisation on the hit path.
///
/// Bounded by entry count, per shard, with two generations: records go into `current`;
/// when it holds half the shard's share, it becomes `previous` and the old `previous` is
/// dropped. That forgets the oldest half in O(1) amortised time with no per-entry order to
/// maintain, and a lookup that hits `previous` copies the alias forward so hot ones stay.
public final class RawKeyAliases: Sendable {
    struct Shard {
        var current: [CacheKey: RawAlias] = [:]
        var previous: [CacheKey: RawAlias] = [:]
        let generationLimit: Int

        mutating func record(_ raw: CacheKey, _ alias: RawAlias) {
            if current.count >= generationLimit, current[raw] == nil {
                previous = current
                current = [:]
                current.reserveCapacity(generationLimit)
            }
            current[raw] = alias
        }

        mutating func lookup(_ raw: CacheKey) -> RawAlias? {
            if let alias = current[raw] { return alias }
            guard let alias = previous.removeValue(forKey: raw) else { return nil }
            record(raw, alias)
            return alias
        }
    }

    final class ShardBox: Sendable {
        let state: Mutex<Shard>

        init(_ shard: consuming sending Shard) {
            state = Mutex(shard)
        }
    }

    private let shards: [ShardBox]

    /// - Parameters:
    ///   - maxEntries: the most aliases kept; fewer may be kept after a rotation.
    ///   - shardCount: independent locks.
    public init(maxEntries: Int = 65_536, shardCount: Int = 16) {
        let shardCount = max(1, shardCount)
        let perGeneration = max(1, max(1, maxEntries) / shardCount / 2)
        shards = (0..<shardCount).map { _ in ShardBox(Shard(generationLimit: perGeneration)) }
    }

    public func lookup(_ raw: CacheKey) -> RawAlias? {
        shard(for: raw).state.withLock { $0.lookup(raw) }
    }

    public func record(_ raw: CacheKey, _ alias: RawAlias) {
        shard(for: raw).state.withLock { $0.record(raw, alias) }
    }

    public func remove(_ raw: CacheKey) {
        shard(for: raw).state.withLock { shard in
            shard.current.removeValue(forKey: raw)
            shard.previous.removeValue(forKey: raw)
        }
    }

    public func removeAll() {
        for shard in shards {
            shard.state.withLock { shard in
                shard.current = [:]
                shard.previous = [:]
            }
        }
    }

    /// Drops every alias that points at one of `canonical`, so that a purge leaves nothing
    /// behind that still names the purged entries. O(aliases): for purges, not requests.
    public func remove(whereCanonicalIn canonical: Set<CacheKey>) {
        guard !canonical.isEmpty else { return }
        for shard in shards {
            shard.state.withLock { shard in
                shard.current = shard.current.filter { !canonical.contains($0.value.canonical) }
                shard.previous = shard.previous.filter { !canonical.contains($0.value.canonical) }
            }
        }
    }

    public var count: Int {
        shards.reduce(0) { total, shard in
            total + shard.state.withLock { $0.current.count + $0.previous.count }
        }
    }

    private func shard(for key: CacheKey) -> ShardBox {
        shards[Int(truncatingIfNeeded: (key.shardHash >> 32) % UInt64(shards.count))]
    }
}
