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
    bodyBytes: Int = 500,
    tenant: String = "t1",
    route: String = "chat",
    endpoint: String = "chat",
    model: String = "gpt-4o-mini",
    createdAt: Double = 1000,
    ttl: Double = 3600,
    tags: [String] = []
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
        body: [UInt8](repeating: UInt8(ascii: "x"), count: bodyBytes)
    )
}

/// A fresh directory under /tmp, removed when the test is done with it.
private struct TempDirectory: ~Copyable {
    let path: String

    init() throws {
        path = "/tmp/tollgate-disktier-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var databasePath: String { path + "/cache.sqlite" }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

@Suite struct DiskTierTests {
    @Test func roundTripKeepsEveryField() throws {
        let dir = try TempDirectory()
        let tier = try DiskTier(path: dir.databasePath, maxBytes: 1 << 20)
        let events: [[UInt8]] = [Array(#"{"delta":"Hel"}"#.utf8), [], Array(#"{"usage":{}}"#.utf8)]
        let stored = CachedResponse(
            metadata: EntryMetadata(
                key: key("a"),
                tenant: "k-0123",
                route: "chat",
                endpoint: "chat",
                model: "gpt-4o",
                createdAt: 1000.25,
                expiresAt: 4600.5,
                tags: ["team-a", "eval run"]
            ),
            status: 203,
            contentType: "application/json; charset=utf-8",
            body: Array(#"{"id":"x"}"#.utf8),
            events: events,
            usageEventIndex: 2
        )
        try tier.put(stored, now: 1000)
        let loaded = try #require(try tier.get(key("a"), now: 1001))
        #expect(loaded.metadata == stored.metadata)
        #expect(loaded.status == 203)
        #expect(loaded.contentType == "application/json; charset=utf-8")
        #expect(loaded.body == stored.body)
        #expect(loaded.events == events)
        #expect(loaded.usageEventIndex == 2)

        try tier.put(entry("plain"), now: 1000)
        let plain = try #require(try tier.get(key("plain"), now: 1000))
        #expect(plain.events == nil)
        #expect(plain.usageEventIndex == nil)
        #expect(plain.metadata.tags == [])
        #expect(try tier.get(key("missing"), now: 1000) == nil)
    }

    @Test func entriesSurviveClosingAndReopening() throws {
        let dir = try TempDirectory()
        do {
            let tier = try DiskTier(path: dir.databasePath, maxBytes: 1 << 20)
            try tier.put(entry("a", tags: ["t"]), now: 1000)
            try tier.put(entry("b"), now: 1000)
        }
        let reopened = try DiskTier(path: dir.databasePath, maxBytes: 1 << 20)
        #expect(try reopened.get(key("a"), now: 1000)?.metadata.tags == ["t"])
        let stats = try reopened.stats()
        #expect(stats.entries == 2)
        #expect(stats.bytes == entry("a", tags: ["t"]).byteCount + entry("b").byteCount)
    }

    @Test func expiredEntriesAreNotServedAndGetDeleted() throws {
        let dir = try TempDirectory()
        let tier = try DiskTier(path: dir.databasePath, maxBytes: 1 << 20)
        try tier.put(entry("a", createdAt: 1000, ttl: 60), now: 1000)
        try tier.put(entry("b", createdAt: 1000, ttl: 120), now: 1000)
        try tier.put(entry("c", createdAt: 1000, ttl: 600), now: 1000)
        #expect(try tier.get(key("a"), now: 1059) != nil)
        #expect(try tier.get(key("a"), now: 1060) == nil)
        #expect(try tier.stats().entries == 2)
        #expect(try tier.removeExpired(now: 1200) == 1)
        #expect(try tier.stats().entries == 1)
        #expect(try tier.get(key("c"), now: 1200) != nil)
        // Storing an already expired entry keeps nothing.
        try tier.put(entry("d", createdAt: 1000, ttl: 60), now: 2000)
        #expect(try tier.get(key("d"), now: 1000) == nil)
    }

    @Test func putReplacesAndKeepsTheByteTotalExact() throws {
        let dir = try TempDirectory()
        let tier = try DiskTier(path: dir.databasePath, maxBytes: 1 << 20)
        try tier.put(entry("a", bodyBytes: 100), now: 1000)
        try tier.put(entry("a", bodyBytes: 900), now: 1000)
        #expect(try tier.get(key("a"), now: 1000)?.body.count == 900)
        let expected = DiskTierStats(entries: 1, bytes: entry("a", bodyBytes: 900).byteCount, maxBytes: 1 << 20)
        #expect(try tier.stats() == expected)
        #expect(try tier.remove(key("a")))
        #expect(try !tier.remove(key("a")))
        #expect(try tier.stats().bytes == 0)
    }

    @Test func sizeBoundEvictsOldestFirst() throws {
        let dir = try TempDirectory()
        let perEntry = entry("probe").byteCount
        let maxBytes = perEntry * 10 + perEntry / 2
        let tier = try DiskTier(path: dir.databasePath, maxBytes: maxBytes)
        for i in 0..<30 {
            try tier.put(entry("k\(i)", createdAt: 1000 + Double(i)), now: 1030)
            #expect(try tier.stats().bytes <= maxBytes)
        }
        let stats = try tier.stats()
        #expect(stats.entries == 10)
        #expect(try tier.get(key("k19"), now: 1030) == nil)
        for i in 20..<30 { #expect(try tier.get(key("k\(i)"), now: 1030) != nil) }
        // The byte total is tracked across a reopen.
        let reopened = try DiskTier(path: dir.databasePath, maxBytes: maxBytes)
        try reopened.put(entry("new", createdAt: 1100), now: 1100)
        #expect(try reopened.stats().entries == 10)
        #expect(try reopened.get(key("k20"), now: 1100) == nil)
    }

    @Test func expiredEntriesAreEvictedBeforeOlderLiveOnes() throws {
        let dir = try TempDirectory()
        let perEntry = entry("probe").byteCount
        let tier = try DiskTier(path: dir.databasePath, maxBytes: perEntry * 3)
        try tier.put(entry("old-live", createdAt: 1000, ttl: 3600), now: 1000)
        try tier.put(entry("newer-short", createdAt: 1010, ttl: 20), now: 1010)
        try tier.put(entry("newest", createdAt: 1020), now: 1020)
        try tier.put(entry("latest", createdAt: 1040), now: 1040)
        #expect(try tier.get(key("old-live"), now: 1040) != nil)
        #expect(try tier.stats().entries == 3)
    }

    @Test func entryLargerThanTheFileBudgetIsNotStored() throws {
        let dir = try TempDirectory()
        let tier = try DiskTier(path: dir.databasePath, maxBytes: 2000)
        try tier.put(entry("small", bodyBytes: 100), now: 1000)
        try tier.put(entry("big", bodyBytes: 5000), now: 1000)
        #expect(try tier.get(key("big"), now: 1000) == nil)
        #expect(try tier.get(key("small"), now: 1000) != nil)
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
        (PurgeSelector(tag: "team"), []),
        (PurgeSelector(olderThan: 150), ["a", "b"]),
        (PurgeSelector(tenant: "t2", tag: "team-a"), ["c"]),
        (PurgeSelector(), ["a", "b", "c", "d"]),
    ])
    func purgeRemovesExactlyWhatTheSelectorMatches(selector: PurgeSelector, expected: [String]) throws {
        let dir = try TempDirectory()
        let tier = try DiskTier(path: dir.databasePath, maxBytes: 1 << 20)
        let now = 1200.0
        try tier.put(entry("a", model: "gpt-4o-mini", createdAt: 1000, tags: ["team-a"]), now: now)
        try tier.put(entry("b", route: "embed", endpoint: "embedding", model: "gpt-embed", createdAt: 1050), now: now)
        try tier.put(entry("c", tenant: "t2", model: "llama3", createdAt: 1100, tags: ["x", "team-a"]), now: now)
        try tier.put(entry("d", tenant: "t2", model: "gpt-4o", createdAt: 1150, tags: ["team-b"]), now: now)
        let purged = try tier.purge(selector, now: now)
        #expect(Set(purged) == Set(expected.map { key($0) }))
        for name in ["a", "b", "c", "d"] {
            #expect((try tier.get(key(name), now: now) == nil) == expected.contains(name))
        }
        #expect(try tier.stats().entries == 4 - expected.count)
    }

    @Test func listIsNewestFirstLimitedAndSkipsExpired() throws {
        let dir = try TempDirectory()
        let tier = try DiskTier(path: dir.databasePath, maxBytes: 1 << 20)
        for i in 0..<10 {
            let model = i % 2 == 0 ? "even" : "odd"
            try tier.put(entry("k\(i)", model: model, createdAt: 1000 + Double(i), ttl: i == 9 ? 5 : 3600), now: 1000)
        }
        let listed = try tier.list(PurgeSelector(), now: 1100, limit: 3)
        #expect(listed.map(\.key) == [key("k8"), key("k7"), key("k6")])
        let odd = try tier.list(PurgeSelector(model: "o*"), now: 1100, limit: 10)
        #expect(odd.map(\.key) == [key("k7"), key("k5"), key("k3"), key("k1")])
    }

    @Test func aGarbageFileIsAnErrorNotACrash() throws {
        let dir = try TempDirectory()
        let garbage = [UInt8]((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        #expect(FileManager.default.createFile(atPath: dir.databasePath, contents: Data(garbage)))
        let error = try #require(throws: SQLiteError.self) {
            try DiskTier(path: dir.databasePath, maxBytes: 1 << 20)
        }
        #expect(error.isCorruption)
        #expect(error.description.contains(dir.databasePath))
    }

    @Test func aDamagedDatabaseFailsWithErrorsNotACrash() throws {
        let dir = try TempDirectory()
        do {
            let tier = try DiskTier(path: dir.databasePath, maxBytes: 1 << 24)
            for i in 0..<200 { try tier.put(entry("k\(i)", bodyBytes: 2000), now: 1000) }
        }
        // Keep the header, scribble over the pages after it.
        let handle = try #require(FileHandle(forUpdatingAtPath: dir.databasePath))
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data((0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }))
        try handle.close()
        do {
            let tier = try DiskTier(path: dir.databasePath, maxBytes: 1 << 24)
            // Opening may succeed when the damage is off the pages it reads; then calls throw.
            for i in 0..<200 { _ = try tier.get(key("k\(i)"), now: 1000) }
            _ = try tier.list(PurgeSelector(), now: 1000, limit: 1000)
            Issue.record("a damaged database was read without any error")
        } catch let error as SQLiteError {
            #expect(error.isCorruption)
        }
    }

    @Test func someoneElsesDatabaseIsRefused() throws {
        let dir = try TempDirectory()
        do {
            let other = try SQLiteDatabase(path: dir.databasePath)
            try other.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY)")
        }
        #expect(throws: SQLiteError.self) {
            try DiskTier(path: dir.databasePath, maxBytes: 1 << 20)
        }
    }

    @Test func aMissingDirectoryIsAnError() {
        #expect(throws: SQLiteError.self) {
            try DiskTier(path: "/tmp/tollgate-no-such-dir-\(UUID().uuidString)/cache.sqlite", maxBytes: 1 << 20)
        }
    }
}
