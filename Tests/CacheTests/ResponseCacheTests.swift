import Cache
import Foundation
import Testing

private func key(_ name: String) -> CacheKey {
    var hasher = SHA256Hasher()
    hasher.update(name)
    return hasher.finalize()
}

private func entry(
    _ name: String,
    model: String = "gpt-4o-mini",
    createdAt: Double = 1000,
    ttl: Double = 3600
)
    -> CachedResponse
{
    CachedResponse(
        metadata: EntryMetadata(
            key: key(name),
            tenant: "t1",
            route: "chat",
            endpoint: "chat",
            model: model,
            createdAt: createdAt,
            expiresAt: createdAt + ttl
        ),
        body: Array("{\"name\":\"\(name)\"}".utf8),
        events: [Array("{\"delta\":\"\(name)\"}".utf8)]
    )
}

/// A cache with both tiers over a fresh SQLite file under /tmp.
private final class Fixture {
    let directory: String
    let cache: ResponseCache
    let aliases = RawKeyAliases(maxEntries: 1000)

    init() throws {
        directory = "/tmp/tollgate-responsecache-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let disk = try DiskTier(path: directory + "/cache.sqlite", maxBytes: 1 << 20)
        cache = ResponseCache(memory: MemoryTier(capacityBytes: 1 << 20), disk: disk, aliases: aliases)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite struct ResponseCacheTests {
    @Test func aDiskHitIsPromotedIntoMemory() throws {
        let fixture = try Fixture()
        let cache = fixture.cache
        try cache.storeOnDisk(entry("a"), now: 1000)
        #expect(cache.getFromMemory(key("a"), now: 1001) == nil)
        let fromDisk = try #require(try cache.getFromDisk(key("a"), now: 1001))
        #expect(fromDisk.body == entry("a").body)
        #expect(fromDisk.events == entry("a").events)
        #expect(cache.getFromMemory(key("a"), now: 1002)?.body == entry("a").body)
    }

    @Test func storeWritesBothTiers() throws {
        let fixture = try Fixture()
        let cache = fixture.cache
        try cache.store(entry("a"), now: 1000)
        #expect(cache.memory.entry(key("a")) != nil)
        #expect(try cache.disk?.get(key("a"), now: 1000) != nil)
        let stats = try cache.stats()
        #expect(stats.memory.entries == 1)
        #expect(stats.disk?.entries == 1)
    }

    @Test func purgeCountsDistinctKeysAcrossTiers() throws {
        let fixture = try Fixture()
        let cache = fixture.cache
        for name in ["both1", "both2", "both3"] { try cache.store(entry(name), now: 1000) }
        for name in ["disk1", "disk2"] { try cache.storeOnDisk(entry(name), now: 1000) }
        cache.storeInMemory(entry("mem1"), now: 1000)
        cache.storeInMemory(entry("llama", model: "llama3"), now: 1000)
        #expect(try cache.purge(PurgeSelector(model: "gpt-*"), now: 1000) == 6)
        #expect(cache.getFromMemory(key("both1"), now: 1000) == nil)
        #expect(try cache.getFromDisk(key("disk1"), now: 1000) == nil)
        #expect(cache.getFromMemory(key("llama"), now: 1000) != nil)
        #expect(try cache.purge(PurgeSelector(), now: 1000) == 1)
        #expect(try cache.purge(PurgeSelector(), now: 1000) == 0)
    }

    @Test func purgeDropsAliasesToPurgedKeys() throws {
        let fixture = try Fixture()
        let cache = fixture.cache
        try cache.store(entry("a", model: "gpt-4o"), now: 1000)
        try cache.store(entry("b", model: "llama3"), now: 1000)
        let toA = RawAlias(canonical: key("a"), wantsStream: true, includeUsage: false)
        let toB = RawAlias(canonical: key("b"), wantsStream: false, includeUsage: true)
        fixture.aliases.record(key("raw-a-1"), toA)
        fixture.aliases.record(key("raw-a-2"), toA)
        fixture.aliases.record(key("raw-b"), toB)
        #expect(try cache.purge(PurgeSelector(model: "gpt-4o"), now: 1000) == 1)
        #expect(fixture.aliases.lookup(key("raw-a-1")) == nil)
        #expect(fixture.aliases.lookup(key("raw-a-2")) == nil)
        #expect(fixture.aliases.lookup(key("raw-b")) == toB)
        _ = try cache.purge(PurgeSelector(), now: 1000)
        #expect(fixture.aliases.count == 0)
    }

    @Test func listMergesTiersOncePerKeyNewestFirst() throws {
        let fixture = try Fixture()
        let cache = fixture.cache
        try cache.store(entry("both", createdAt: 1003), now: 1010)
        try cache.storeOnDisk(entry("disk", createdAt: 1002), now: 1010)
        cache.storeInMemory(entry("mem", createdAt: 1001), now: 1010)
        try cache.storeOnDisk(entry("gone", createdAt: 1004, ttl: 1), now: 1004)
        let listed = try cache.list(PurgeSelector(), now: 1010, limit: 10)
        #expect(listed.map(\.key) == [key("both"), key("disk"), key("mem")])
        #expect(try cache.list(PurgeSelector(), now: 1010, limit: 2).count == 2)
    }

    @Test func inspectFindsEitherTierWithoutCountingOrPromoting() throws {
        let fixture = try Fixture()
        let cache = fixture.cache
        cache.storeInMemory(entry("mem"), now: 1000)
        try cache.storeOnDisk(entry("disk"), now: 1000)
        #expect(try cache.inspect(key("mem"), now: 1000) != nil)
        #expect(try cache.inspect(key("disk"), now: 1000) != nil)
        #expect(try cache.inspect(key("none"), now: 1000) == nil)
        #expect(try cache.inspect(key("mem"), now: 999_999) == nil)
        #expect(cache.memory.entry(key("disk")) == nil)
        #expect(cache.memory.stats.hits == 0)
    }

    @Test func worksWithoutADiskTier() throws {
        let cache = ResponseCache(memory: MemoryTier(capacityBytes: 1 << 20), disk: nil)
        try cache.store(entry("a"), now: 1000)
        #expect(try cache.getFromDisk(key("a"), now: 1000) == nil)
        #expect(cache.getFromMemory(key("a"), now: 1000) != nil)
        #expect(try cache.purge(PurgeSelector(), now: 1000) == 1)
        #expect(try cache.stats().disk == nil)
    }
}

@Suite struct ResponseCacheDiskIndexTests {
    private func entry(_ n: UInt64, now: Double) -> CachedResponse {
        CachedResponse(
            metadata: EntryMetadata(
                key: CacheKey(words: (n, n &* 31, 7, 9)), tenant: "t", route: "r", endpoint: "chat", model: "m",
                createdAt: now, expiresAt: now + 60
            ),
            body: Array("{}".utf8)
        )
    }

    @Test func diskIndexKnowsWhatIsOnDiskAcrossReopen() throws {
        let path = "/tmp/tollgate-index-\(UInt64.random(in: 0...UInt64.max)).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let now = 1_000_000.0
        do {
            let cache = ResponseCache(memory: MemoryTier(capacityBytes: 1 << 20), disk: try DiskTier(path: path, maxBytes: 1 << 20))
            #expect(!cache.mightBeOnDisk(entry(1, now: now).key))
            try cache.storeOnDisk(entry(1, now: now), now: now)
            #expect(cache.mightBeOnDisk(entry(1, now: now).key))
            #expect(!cache.mightBeOnDisk(entry(2, now: now).key))
        }
        // A new process reads the index back from the file.
        let reopened = ResponseCache(memory: MemoryTier(capacityBytes: 1 << 20), disk: try DiskTier(path: path, maxBytes: 1 << 20))
        #expect(reopened.mightBeOnDisk(entry(1, now: now).key))
        #expect(try reopened.getFromDisk(entry(1, now: now).key, now: now) != nil)
        // Without a disk tier nothing is ever on disk.
        let memoryOnly = ResponseCache(memory: MemoryTier(capacityBytes: 1 << 20), disk: nil)
        #expect(!memoryOnly.mightBeOnDisk(entry(1, now: now).key))
    }
}
