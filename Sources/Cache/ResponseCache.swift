import Synchronization

/// Both tiers' numbers, for `GET /admin/cache/stats`.
public struct ResponseCacheStats: Sendable, Equatable {
    public var memory: MemoryTierStats
    /// Nil when running without a disk tier.
    public var disk: DiskTierStats?
    /// Raw-body aliases held (0 without an alias table).
    public var aliases: Int

    public init(memory: MemoryTierStats, disk: DiskTierStats?, aliases: Int) {
        self.memory = memory
        self.disk = disk
        self.aliases = aliases
    }
}

/// The tiered front the gateway talks to: memory, then the SQLite file.
///
/// The two reads are separate calls on purpose: `getFromMemory` is cheap and non-blocking,
/// so the gateway answers it on the event loop; `getFromDisk` blocks on file I/O and belongs
/// on a thread pool. A disk hit is copied into memory so the next one stays on the loop.
///
/// Writes go to both tiers; each applies its own bounds, so an entry the memory tier refuses
/// (a scan, or too large) can still be kept on disk.
public final class ResponseCache: Sendable {
    public let memory: MemoryTier
    public let disk: DiskTier?
    public let aliases: RawKeyAliases?
    /// Indexes over the entries (deterministic continuations) that purges reach too.
    public let sideIndexes: [any CacheSideIndex]
    /// Hashes of the keys the disk tier may hold, so that a miss on a new prompt skips the
    /// trip to a thread pool and SQLite. It may say yes wrongly (an entry evicted since; the
    /// lookup then finds nothing), never no wrongly: every disk write adds first.
    private let diskIndex = Mutex(Set<UInt64>())

    /// - Parameter aliases: when given, purges also drop aliases that point at purged keys.
    /// - Parameter sideIndexes: purged with the same selector.
    /// Blocking when there is a disk tier: it reads the stored keys.
    public init(memory: MemoryTier, disk: DiskTier?, aliases: RawKeyAliases? = nil, sideIndexes: [any CacheSideIndex] = []) {
        self.memory = memory
        self.disk = disk
        self.aliases = aliases
        self.sideIndexes = sideIndexes
        refreshDiskIndex()
    }

    /// Whether the disk tier may hold `key`. Non-blocking.
    public func mightBeOnDisk(_ key: CacheKey) -> Bool {
        guard disk != nil else { return false }
        return diskIndex.withLock { $0.contains(key.shardHash) }
    }

    /// Rebuilds the index from the disk tier (drops keys evicted or expired there).
    private func refreshDiskIndex() {
        guard let disk, let keys = try? disk.keys() else { return }
        let hashes = Set(keys.map(\.shardHash))
        diskIndex.withLock { $0 = hashes }
    }

    /// The memory tier's live entry. Non-blocking: safe on an event loop.
    public func getFromMemory(_ key: CacheKey, now: Double) -> CachedResponse? {
        memory.get(key, now: now)
    }

    /// The disk tier's live entry, promoted into memory. Blocking: call from a thread pool.
    public func getFromDisk(_ key: CacheKey, now: Double) throws -> CachedResponse? {
        guard let disk, let entry = try disk.get(key, now: now) else { return nil }
        memory.put(entry, now: now)
        return entry
    }

    /// Stores in memory, then on disk. Blocking when there is a disk tier.
    public func store(_ entry: CachedResponse, now: Double) throws {
        memory.put(entry, now: now)
        if disk != nil { diskIndex.withLock { _ = $0.insert(entry.key.shardHash) } }
        try disk?.put(entry, now: now)
    }

    /// Returns whether the memory tier kept the entry (see `MemoryTier.put`).
    @discardableResult
    public func storeInMemory(_ entry: CachedResponse, now: Double) -> Bool {
        memory.put(entry, now: now)
    }

    /// Blocking; a no-op without a disk tier.
    public func storeOnDisk(_ entry: CachedResponse, now: Double) throws {
        guard let disk else { return }
        diskIndex.withLock { _ = $0.insert(entry.key.shardHash) }
        try disk.put(entry, now: now)
    }

    /// Removes what `selector` matches from both tiers and the side indexes and drops aliases
    /// to the removed keys; returns how many distinct keys went (an entry in both tiers counts once).
    ///
    /// Disk goes first: a concurrent disk hit that is being promoted can then only slip back
    /// into memory during the short memory purge, not during the slower disk one. If the
    /// disk purge fails, memory and aliases are still purged before the error is rethrown.
    public func purge(_ selector: PurgeSelector, now: Double) throws -> Int {
        var removed = Set<CacheKey>()
        var diskError: (any Error)?
        do {
            if let disk { removed.formUnion(try disk.purge(selector, now: now)) }
        } catch {
            diskError = error
        }
        removed.formUnion(memory.purge(selector, now: now))
        for index in sideIndexes { index.purge(selector, now: now) }
        if let aliases {
            if selector.isEmpty {
                aliases.removeAll()
            } else {
                aliases.remove(whereCanonicalIn: removed)
            }
        }
        if let diskError { throw diskError }
        return removed.count
    }

    /// Live entries from both tiers, newest first, each key once (memory's copy preferred).
    public func list(_ selector: PurgeSelector, now: Double, limit: Int) throws -> [EntryMetadata] {
        var entries = memory.list(selector, now: now, limit: limit)
        var seen = Set(entries.map(\.key))
        let fromDisk = try disk?.list(selector, now: now, limit: limit) ?? []
        for metadata in fromDisk where seen.insert(metadata.key).inserted {
            entries.append(metadata)
        }
        entries.sort { $0.createdAt != $1.createdAt ? $0.createdAt > $1.createdAt : $0.key.hex < $1.key.hex }
        return Array(entries.prefix(max(0, limit)))
    }

    /// The live entry from either tier, for the admin plane: no hit counted, nothing promoted.
    public func inspect(_ key: CacheKey, now: Double) throws -> CachedResponse? {
        if let entry = memory.entry(key), !entry.metadata.isExpired(now: now) {
            return entry
        }
        return try disk?.get(key, now: now)
    }

    /// Sweeps expired entries from both tiers; returns how many went (a key in both counts
    /// twice). Blocking when there is a disk tier.
    @discardableResult
    public func removeExpired(now: Double) throws -> Int {
        let removed = memory.removeExpired(now: now) + (try disk?.removeExpired(now: now) ?? 0)
        refreshDiskIndex()
        return removed
    }

    /// Blocking when there is a disk tier.
    public func stats() throws -> ResponseCacheStats {
        ResponseCacheStats(memory: memory.stats, disk: try disk?.stats(), aliases: aliases?.count ?? 0)
    }
}
