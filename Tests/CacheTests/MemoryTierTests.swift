import Cache
import Testing

private func key(_ name: String) -> CacheKey {
    var hasher = SHA256Hasher()
    hasher.update(name)
    return hasher.finalize()
}

private func entry(
    _ name: String,
    bodyBytes: Int = 500,
    tenant: String = "t1",
    route: String = "chat",
    endpoint: String = "chat",
    model: String = "gpt-4o-mini",
    createdAt: Double = 1000,
    ttl: Double = 3600,
    tags: [String] = [],
    body: [UInt8]? = nil
) -> CachedResponse {
    CachedResponse(
        metadata: EntryMetadata(
            key: key(name),
            tenant: tenant,
            route: route,
            endpoint: endpoint,
            model: model,
            createdAt: createdAt,
            expiresAt: createdAt + ttl,
            tags: tags
        ),
        body: body ?? [UInt8](repeating: UInt8(ascii: "x"), count: bodyBytes)
    )
}

/// What a plain LRU of the same byte size would do, as the baseline the scan test beats.
private struct PlainLRU {
    let capacity: Int
    var order: [CacheKey] = []
    var sizes: [CacheKey: Int] = [:]
    var bytes = 0

    mutating func get(_ key: CacheKey) -> Bool {
        guard sizes[key] != nil else { return false }
        order.removeAll { $0 == key }
        order.append(key)
        return true
    }

    mutating func put(_ key: CacheKey, size: Int) {
        order.append(key)
        sizes[key] = size
        bytes += size
        while bytes > capacity {
            let oldest = order.removeFirst()
            bytes -= sizes.removeValue(forKey: oldest)!
        }
    }
}

@Suite struct MemoryTierTests {
    @Test func getReturnsWhatWasPut() {
        let tier = MemoryTier(capacityBytes: 1 << 20)
        let stored = entry("a", body: Array("hello".utf8))
        #expect(tier.put(stored, now: 1000))
        #expect(tier.get(key("a"), now: 1001)?.body == Array("hello".utf8))
        #expect(tier.get(key("b"), now: 1001) == nil)
        let stats = tier.stats
        #expect(stats.entries == 1)
        #expect(stats.bytes == stored.byteCount)
        #expect(stats.hits == 1)
        #expect(stats.misses == 1)
    }

    @Test func byteBoundIsNeverExceeded() {
        let capacity = 64 * 1024
        let tier = MemoryTier(capacityBytes: capacity, shardCount: 4, expectedEntryBytes: 1500)
        for i in 0..<3000 {
            let name = "k\((i * 7919 + i * i) % 600)"
            if tier.get(key(name), now: 1000) == nil {
                tier.put(entry(name, bodyBytes: 200 + (i * 7919) % 3000), now: 1000)
            }
            let stats = tier.stats
            #expect(stats.bytes <= capacity)
            if stats.bytes > capacity { break }
        }
        let stats = tier.stats
        #expect(stats.capacityBytes == capacity)
        #expect(stats.bytes > capacity / 2)
        #expect(stats.evictions + stats.admissionsRejected > 0)
    }

    @Test func entryLargerThanAShardIsRejected() {
        let tier = MemoryTier(capacityBytes: 16_000, shardCount: 4)
        #expect(tier.maxEntryBytes == 4000)
        #expect(!tier.put(entry("big", bodyBytes: 5000), now: 1000))
        #expect(tier.get(key("big"), now: 1000) == nil)
        #expect(tier.stats.admissionsRejected == 1)
        #expect(tier.stats.bytes == 0)
    }

    @Test func entriesExpireWithInjectedTime() {
        let tier = MemoryTier(capacityBytes: 1 << 20)
        tier.put(entry("a", createdAt: 1000, ttl: 60), now: 1000)
        #expect(tier.get(key("a"), now: 1059.9) != nil)
        #expect(tier.get(key("a"), now: 1060) == nil)
        let stats = tier.stats
        #expect(stats.expirations == 1)
        #expect(stats.entries == 0)
        #expect(stats.bytes == 0)
        // Storing something already expired keeps nothing.
        #expect(!tier.put(entry("b", createdAt: 1000, ttl: 60), now: 2000))
        #expect(tier.stats.entries == 0)
    }

    @Test func removeExpiredSweepsOnlyExpiredEntries() {
        let tier = MemoryTier(capacityBytes: 1 << 20)
        for i in 0..<10 {
            tier.put(entry("k\(i)", createdAt: 1000, ttl: Double(10 + i * 10)), now: 1000)
        }
        #expect(tier.removeExpired(now: 1050) == 5)
        #expect(tier.stats.entries == 5)
        #expect(tier.stats.expirations == 5)
        #expect(tier.entry(key("k4")) == nil)
        #expect(tier.entry(key("k5")) != nil)
    }

    @Test func putReplacesTheEntryWithTheSameKey() {
        let tier = MemoryTier(capacityBytes: 1 << 20)
        tier.put(entry("a", body: Array("old".utf8)), now: 1000)
        let newer = entry("a", createdAt: 1100, body: [UInt8](repeating: 1, count: 900))
        #expect(tier.put(newer, now: 1100))
        #expect(tier.get(key("a"), now: 1100)?.body.count == 900)
        #expect(tier.stats.entries == 1)
        #expect(tier.stats.bytes == newer.byteCount)
        // A replacement too large to keep must not leave the stale value behind.
        let small = MemoryTier(capacityBytes: 2000, shardCount: 1)
        small.put(entry("a", bodyBytes: 100), now: 1000)
        #expect(!small.put(entry("a", bodyBytes: 5000), now: 1000))
        #expect(small.get(key("a"), now: 1000) == nil)
    }

    @Test func removeDropsTheEntry() {
        let tier = MemoryTier(capacityBytes: 1 << 20)
        tier.put(entry("a"), now: 1000)
        #expect(tier.remove(key("a")))
        #expect(!tier.remove(key("a")))
        #expect(tier.get(key("a"), now: 1000) == nil)
        #expect(tier.stats.bytes == 0)
    }

    @Test(arguments: [
        (PurgeSelector(model: "llama3"), ["c"]),
        (PurgeSelector(model: "gpt-*"), ["a", "b", "d"]),
        (PurgeSelector(model: "gpt-4?"), ["d"]),
        (PurgeSelector(route: "embed"), ["b"]),
        (PurgeSelector(tenant: "t2"), ["c", "d"]),
        (PurgeSelector(endpoint: "embedding"), ["b"]),
        (PurgeSelector(key: key("a")), ["a"]),
        (PurgeSelector(keyPrefix: String(key("c").hex.prefix(6)).uppercased()), ["c"]),
        (PurgeSelector(tag: "team-a"), ["a", "c"]),
        (PurgeSelector(olderThan: 150), ["a", "b"]),
        (PurgeSelector(tenant: "t2", tag: "team-a"), ["c"]),
        (PurgeSelector(), ["a", "b", "c", "d"]),
    ])
    func purgeRemovesExactlyWhatTheSelectorMatches(selector: PurgeSelector, expected: [String]) {
        let tier = MemoryTier(capacityBytes: 1 << 20)
        let now = 1200.0
        tier.put(entry("a", model: "gpt-4o-mini", createdAt: 1000, tags: ["team-a"]), now: now)
        tier.put(entry("b", route: "embed", endpoint: "embedding", model: "gpt-embed", createdAt: 1050), now: now)
        tier.put(entry("c", tenant: "t2", model: "llama3", createdAt: 1100, tags: ["x", "team-a"]), now: now)
        tier.put(entry("d", tenant: "t2", model: "gpt-4o", createdAt: 1150, tags: ["team-b"]), now: now)
        let purged = tier.purge(selector, now: now)
        #expect(Set(purged) == Set(expected.map { key($0) }))
        for name in ["a", "b", "c", "d"] {
            #expect((tier.get(key(name), now: now) == nil) == expected.contains(name))
        }
    }

    @Test func listIsNewestFirstLimitedAndSkipsExpired() {
        let tier = MemoryTier(capacityBytes: 1 << 20)
        for i in 0..<10 {
            tier.put(entry("k\(i)", createdAt: 1000 + Double(i), ttl: i == 9 ? 5 : 3600), now: 1000)
        }
        let listed = tier.list(PurgeSelector(), now: 1100, limit: 3)
        #expect(listed.map(\.key) == [key("k8"), key("k7"), key("k6")])
        #expect(tier.list(PurgeSelector(model: "nope"), now: 1100, limit: 10).isEmpty)
    }

    @Test func inspectingHasNoSideEffects() {
        let tier = MemoryTier(capacityBytes: 1 << 20)
        tier.put(entry("a", ttl: 10), now: 1000)
        #expect(tier.entry(key("a")) != nil)
        #expect(tier.entry(key("b")) == nil)
        let stats = tier.stats
        #expect(stats.hits == 0)
        #expect(stats.misses == 0)
    }

    /// A hot working set keeps hitting while a long one-pass scan of cold keys streams
    /// through; a plain LRU of the same size loses the whole hot set every round.
    @Test(arguments: [1, 16])
    func hotSetSurvivesAScan(shardCount: Int) {
        let perEntry = entry("probe", bodyBytes: 700).byteCount
        let entriesPerShard = 100
        let capacity = perEntry * entriesPerShard * shardCount
        let hot = (0..<(entriesPerShard * shardCount / 4)).map { "hot\($0)" }
        let tier = MemoryTier(capacityBytes: capacity, shardCount: shardCount, expectedEntryBytes: perEntry)
        var lru = PlainLRU(capacity: capacity)

        func request(_ name: String) -> (tier: Bool, lru: Bool) {
            let k = key(name)
            let hit = tier.get(k, now: 1000) != nil
            if !hit { tier.put(entry(name, bodyBytes: 700), now: 1000) }
            let lruHit = lru.get(k)
            if !lruHit { lru.put(k, size: perEntry) }
            return (hit, lruHit)
        }

        for _ in 0..<3 { for name in hot { _ = request(name) } }
        var hotRequests = 0
        var tierHits = 0
        var lruHits = 0
        var cold = 0
        for _ in 0..<20 {
            for name in hot {
                let (hit, lruHit) = request(name)
                hotRequests += 1
                tierHits += hit ? 1 : 0
                lruHits += lruHit ? 1 : 0
            }
            // Twice the whole capacity in never-repeated keys per round.
            for _ in 0..<(2 * entriesPerShard * shardCount) {
                _ = request("cold\(cold)")
                cold += 1
            }
        }
        let tierRatio = Double(tierHits) / Double(hotRequests)
        let lruRatio = Double(lruHits) / Double(hotRequests)
        #expect(tierRatio > 0.9, "W-TinyLFU hot hit ratio \(tierRatio)")
        #expect(lruRatio < 0.1, "plain LRU hot hit ratio \(lruRatio)")
        #expect(tier.stats.bytes <= capacity)
        #expect(tier.stats.admissionsRejected > 0)
    }

    @Test func concurrentUseKeepsTheBound() async {
        let capacity = 200_000
        let tier = MemoryTier(capacityBytes: capacity, shardCount: 8, expectedEntryBytes: 1000)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for i in 0..<2000 {
                        let name = "w\(worker)-\(i % 300)"
                        if tier.get(key(name), now: 1000) == nil {
                            tier.put(entry(name, bodyBytes: 300 + i % 1500), now: 1000)
                        }
                        if i % 500 == 0 { _ = tier.purge(PurgeSelector(model: "none"), now: 1000) }
                    }
                }
            }
        }
        let stats = tier.stats
        #expect(stats.bytes <= capacity)
        #expect(stats.hits + stats.misses == 8000)
    }
}
