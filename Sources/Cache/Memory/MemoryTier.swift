import Synchronization

/// Counters for one `MemoryTier`, summed over its shards.
public struct MemoryTierStats: Sendable, Equatable {
    public var entries: Int
    public var bytes: Int
    public var capacityBytes: Int
    public var hits: Int
    public var misses: Int
    /// Resident entries pushed out to make room.
    public var evictions: Int
    /// Entries dropped because their TTL ran out (found on `get` or by `removeExpired`).
    public var expirations: Int
    /// New entries that lost the admission contest, or were larger than a shard.
    public var admissionsRejected: Int

    public init(
        entries: Int = 0,
        bytes: Int = 0,
        capacityBytes: Int = 0,
        hits: Int = 0,
        misses: Int = 0,
        evictions: Int = 0,
        expirations: Int = 0,
        admissionsRejected: Int = 0
    ) {
        self.entries = entries
        self.bytes = bytes
        self.capacityBytes = capacityBytes
        self.hits = hits
        self.misses = misses
        self.evictions = evictions
        self.expirations = expirations
        self.admissionsRejected = admissionsRejected
    }
}

/// The in-process tier: byte-bounded, TTL-aware, with W-TinyLFU admission so that a scan of
/// one-off requests cannot flush the entries that are actually reused.
///
/// Keys are spread over shards by `CacheKey.shardHash`; each shard is a value behind its own
/// `Mutex`, so a hit costs one uncontended lock, one dictionary lookup, a list relink and a
/// sketch increment. Each shard owns `capacityBytes / shardCount` bytes, which bounds the
/// total; an entry larger than one shard is never stored.
///
/// Time is always passed in (`now`, seconds since the epoch); the tier never reads a clock.
public final class MemoryTier: Sendable {
    /// `Mutex` is not copyable, so each one lives in a box that an array can hold.
    final class ShardBox: Sendable {
        let state: Mutex<Shard>

        init(_ shard: consuming sending Shard) {
            state = Mutex(shard)
        }
    }

    public let capacityBytes: Int
    private let shards: [ShardBox]

    /// - Parameters:
    ///   - capacityBytes: the most bytes (`CachedResponse.byteCount`) held at once.
    ///   - shardCount: independent locks; more shards, less contention, but a lower ceiling
    ///     on a single entry's size (one shard's share).
    ///   - expectedEntryBytes: a typical entry's size, used only to size frequency sketches.
    public init(capacityBytes: Int, shardCount: Int = 16, expectedEntryBytes: Int = 4096) {
        let shardCount = max(1, shardCount)
        let capacityBytes = max(0, capacityBytes)
        self.capacityBytes = capacityBytes
        let base = capacityBytes / shardCount
        let remainder = capacityBytes % shardCount
        var shards: [ShardBox] = []
        shards.reserveCapacity(shardCount)
        for i in 0..<shardCount {
            let shard = Shard(
                capacity: base + (i < remainder ? 1 : 0),
                expectedEntryBytes: expectedEntryBytes,
                seed: 0x9e37_79b9_7f4a_7c15 &* UInt64(i + 1)
            )
            shards.append(ShardBox(shard))
        }
        self.shards = shards
    }

    /// The largest entry this tier can hold (one shard's share of the bytes).
    public var maxEntryBytes: Int {
        shards.map { $0.state.withLock { $0.capacity } }.min() ?? 0
    }

    /// The live entry for `key`, or nil if absent or expired (an expired entry is dropped).
    public func get(_ key: CacheKey, now: Double) -> CachedResponse? {
        shard(for: key).state.withLock { $0.get(key, now: now) }
    }

    /// Stores `entry`, replacing any entry with the same key. Returns whether it is resident
    /// afterwards: a new entry can lose the admission contest, and one that is already
    /// expired or larger than a shard is not stored (and removes the old value).
    @discardableResult
    public func put(_ entry: CachedResponse, now: Double) -> Bool {
        shard(for: entry.key).state.withLock { $0.put(entry, now: now) }
    }

    @discardableResult
    public func remove(_ key: CacheKey) -> Bool {
        shard(for: key).state.withLock { $0.remove(key) }
    }

    /// Removes every entry `selector` matches, expired ones included; returns their keys.
    public func purge(_ selector: PurgeSelector, now: Double) -> [CacheKey] {
        if let key = selector.key {
            return shard(for: key).state.withLock { $0.purge(selector, now: now) }
        }
        var keys: [CacheKey] = []
        for shard in shards {
            keys += shard.state.withLock { $0.purge(selector, now: now) }
        }
        return keys
    }

    /// Metadata of live entries matching `selector`, newest first, at most `limit`.
    /// Walks every shard: for the admin plane, not the request path.
    public func list(_ selector: PurgeSelector, now: Double, limit: Int) -> [EntryMetadata] {
        var found: [EntryMetadata] = []
        for shard in shards {
            found += shard.state.withLock { shard in
                shard.matching(selector, now: now, includeExpired: false).compactMap { shard.nodes[$0].entry?.metadata }
            }
        }
        found.sort { $0.createdAt != $1.createdAt ? $0.createdAt > $1.createdAt : $0.key.hex < $1.key.hex }
        return Array(found.prefix(max(0, limit)))
    }

    /// The resident entry for `key`, even if expired, without touching hit counts or the
    /// frequency sketch: inspecting must not change what the cache keeps.
    public func entry(_ key: CacheKey) -> CachedResponse? {
        shard(for: key).state.withLock { shard in
            shard.index[IndexKey(key)].flatMap { shard.nodes[$0].entry }
        }
    }

    /// Drops every expired entry; returns how many. A periodic sweep, O(entries).
    @discardableResult
    public func removeExpired(now: Double) -> Int {
        var removed = 0
        for shard in shards {
            removed += shard.state.withLock { $0.removeExpired(now: now) }
        }
        return removed
    }

    public var stats: MemoryTierStats {
        var stats = MemoryTierStats(capacityBytes: capacityBytes)
        for shard in shards {
            shard.state.withLock { shard in
                stats.entries += shard.index.count
                stats.bytes += shard.bytes
                stats.hits += shard.counters.hits
                stats.misses += shard.counters.misses
                stats.evictions += shard.counters.evictions
                stats.expirations += shard.counters.expirations
                stats.admissionsRejected += shard.counters.admissionsRejected
            }
        }
        return stats
    }

    /// High bits pick the shard, so shard choice stays independent of low-bit users.
    private func shard(for key: CacheKey) -> ShardBox {
        shards[Int(truncatingIfNeeded: (key.shardHash >> 32) % UInt64(shards.count))]
    }
}
