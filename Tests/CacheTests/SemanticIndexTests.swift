import Cache
import Foundation
import Testing

private func metadata(_ name: String, tenant: String = "t1", createdAt: Double = 1000, ttl: Double = 3600) -> EntryMetadata {
    var hasher = SHA256Hasher()
    hasher.update(name)
    return EntryMetadata(
        key: hasher.finalize(), tenant: tenant, route: "chat", endpoint: "chat", model: "m",
        createdAt: createdAt, expiresAt: createdAt + ttl)
}

/// The semantic cache's vectors: nearest above a threshold, within a family, bounded, purged.
@Suite struct SemanticIndexTests {
    @Test func theMostSimilarVectorAboveTheThresholdIsFound() throws {
        let index = SemanticIndex(capacity: 100)
        index.insert(family: 1, vector: [1, 0, 0], metadata: metadata("x"), now: 1000)
        index.insert(family: 1, vector: [0, 1, 0], metadata: metadata("y"), now: 1000)
        // Not normalised on purpose: the index normalises.
        let match = try #require(index.search(family: 1, vector: [3, 0.5, 0], threshold: 0.9, now: 1001))
        #expect(match.metadata.key == metadata("x").key)
        #expect(abs(match.similarity - 3 / (9.25 as Float).squareRoot()) < 1e-5)
        // Just under and just over the similarity of [1, 1, 0] to x (0.7071).
        #expect(index.search(family: 1, vector: [1, 1, 0], threshold: 0.7072, now: 1001) == nil)
        #expect(index.search(family: 1, vector: [1, 1, 0], threshold: 0.7070, now: 1001) != nil)
        // Another family, another length, a zero vector: nothing.
        #expect(index.search(family: 2, vector: [1, 0, 0], threshold: 0.5, now: 1001) == nil)
        #expect(index.search(family: 1, vector: [1, 0], threshold: 0.5, now: 1001) == nil)
        #expect(index.search(family: 1, vector: [0, 0, 0], threshold: 0.5, now: 1001) == nil)
    }

    @Test func aKeyHasOneVectorAndRemovedKeysAreForgotten() {
        let index = SemanticIndex(capacity: 100)
        index.insert(family: 1, vector: [1, 0], metadata: metadata("x"), now: 1000)
        index.insert(family: 1, vector: [0, 1], metadata: metadata("x"), now: 1000)
        #expect(index.count == 1)
        #expect(index.search(family: 1, vector: [1, 0], threshold: 0.5, now: 1001) == nil)
        index.remove(key: metadata("x").key)
        #expect(index.count == 0)
        #expect(index.search(family: 1, vector: [0, 1], threshold: 0.5, now: 1001) == nil)
    }

    @Test func expiredAndRefusedEntriesDoNotAnswer() {
        let index = SemanticIndex(capacity: 100)
        index.insert(family: 1, vector: [1, 0], metadata: metadata("old", createdAt: 1000, ttl: 10), now: 1000)
        index.insert(family: 1, vector: [0.9, 0.1], metadata: metadata("new", createdAt: 1005), now: 1005)
        // The old one is closer, but expired: the newer one answers, and the old one is dropped.
        let match = index.search(family: 1, vector: [1, 0], threshold: 0.5, now: 1011)
        #expect(match?.metadata.key == metadata("new").key)
        #expect(index.count == 1)
        #expect(index.search(family: 1, vector: [1, 0], threshold: 0.5, now: 1011, accepts: { _ in false }) == nil)
    }

    @Test func theCapacityEvictsTheLeastRecentlyUsed() {
        let index = SemanticIndex(capacity: 10)
        for i in 0..<10 {
            let angle = Float(i) * 0.15
            index.insert(family: 1, vector: [cos(angle), sin(angle)], metadata: metadata("v\(i)"), now: 1000)
        }
        #expect(index.count == 10)
        // Use v0 so that it is the most recently used, then overflow.
        #expect(index.search(family: 1, vector: [1, 0], threshold: 0.9999, now: 1001)?.metadata.key == metadata("v0").key)
        index.insert(family: 2, vector: [1, 0], metadata: metadata("w"), now: 1001)
        #expect(index.count <= 9)
        #expect(index.search(family: 1, vector: [1, 0], threshold: 0.9999, now: 1001) != nil, "recently used stays")
        #expect(index.search(family: 2, vector: [1, 0], threshold: 0.9999, now: 1001) != nil, "the new one stays")
        #expect(index.search(family: 1, vector: [cos(0.15), sin(0.15)], threshold: 0.9999, now: 1001) == nil, "oldest went")
    }

    @Test func purgesReachTheIndexThroughTheCache() throws {
        let index = SemanticIndex(capacity: 100)
        index.insert(family: 1, vector: [1, 0], metadata: metadata("a", tenant: "t1"), now: 1000)
        index.insert(family: 1, vector: [0, 1], metadata: metadata("b", tenant: "t2"), now: 1000)
        let cache = ResponseCache(memory: MemoryTier(capacityBytes: 1 << 20), disk: nil, sideIndexes: [index])
        _ = try cache.purge(PurgeSelector(tenant: "t1"), now: 1001)
        #expect(index.count == 1)
        #expect(index.search(family: 1, vector: [1, 0], threshold: 0.9, now: 1001) == nil)
        _ = try cache.purge(PurgeSelector(), now: 1001)
        #expect(index.count == 0)
    }
}
