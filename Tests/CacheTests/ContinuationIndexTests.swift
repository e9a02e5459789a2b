import Cache
import Foundation
import Testing

private func metadata(_ name: String, tenant: String = "t1", model: String = "local", createdAt: Double = 1000, ttl: Double = 3600)
    -> EntryMetadata
{
    var hasher = SHA256Hasher()
    hasher.update(name)
    return EntryMetadata(
        key: hasher.finalize(), tenant: tenant, route: "local", endpoint: "completion", model: model,
        createdAt: createdAt, expiresAt: createdAt + ttl)
}

/// The index of deterministic completions: continuation and token-limit lookups, families,
/// coverage, the byte budget, expiry and purges.
@Suite struct ContinuationIndexTests {
    typealias Index = ContinuationIndex<String>

    static func insert(
        _ index: Index, _ name: String, family: UInt64 = 1, prompt: [Int32], completion: [Int32], isFinal: Bool = false,
        tenant: String = "t1", createdAt: Double = 1000, valueBytes: Int = 0
    ) {
        index.insert(
            metadata: metadata(name, tenant: tenant, createdAt: createdAt), family: family, prompt: prompt,
            completion: completion, isFinal: isFinal, value: name, valueBytes: valueBytes, now: createdAt)
    }

    @Test func findsTheSamePromptAndPromptsThatContinueTheCompletion() {
        let index = Index(capacityBytes: 1 << 20)
        Self.insert(index, "a", prompt: [1, 2, 3], completion: [10, 11, 12, 13])
        // The same prompt: offset 0, the whole completion remains.
        let same = index.lookup(family: 1, query: [1, 2, 3], now: 1001)
        #expect(same.map(\.record.value) == ["a"] && same.first?.offset == 0)
        #expect(same.first.map { Array($0.remaining) } == [10, 11, 12, 13])
        // The prompt plus the first two completion tokens.
        let continued = index.lookup(family: 1, query: [1, 2, 3, 10, 11], now: 1001)
        #expect(continued.first?.offset == 2 && continued.first.map { Array($0.remaining) } == [12, 13])
        // The whole completion: found, with nothing left (the caller decides whether that answers).
        #expect(index.lookup(family: 1, query: [1, 2, 3, 10, 11, 12, 13], now: 1001).first?.offset == 4)
        // Past the completion, a wrong token, a shorter prompt, or another family: nothing.
        #expect(index.lookup(family: 1, query: [1, 2, 3, 10, 11, 12, 13, 14], now: 1001).isEmpty)
        #expect(index.lookup(family: 1, query: [1, 2, 3, 10, 99], now: 1001).isEmpty)
        #expect(index.lookup(family: 1, query: [1, 2], now: 1001).isEmpty)
        #expect(index.lookup(family: 2, query: [1, 2, 3], now: 1001).isEmpty)
        #expect(index.holds(family: 1) && !index.holds(family: 2))
    }

    @Test func maxOffsetZeroAllowsOnlyTheSamePrompt() {
        let index = Index(capacityBytes: 1 << 20)
        Self.insert(index, "a", prompt: [1, 2, 3], completion: [10, 11, 12])
        #expect(index.lookup(family: 1, query: [1, 2, 3, 10], maxOffset: 0, now: 1001).isEmpty)
        #expect(index.lookup(family: 1, query: [1, 2, 3], maxOffset: 0, now: 1001).count == 1)
        #expect(index.lookup(family: 1, query: [1, 2, 3, 10, 11], maxOffset: 1, now: 1001).isEmpty)
        #expect(index.lookup(family: 1, query: [1, 2, 3, 10, 11], maxOffset: 2, now: 1001).count == 1)
    }

    @Test func aRecordWhosePromptIsAnotherCompletionsContinuationIsFoundToo() {
        let index = Index(capacityBytes: 1 << 20)
        Self.insert(index, "short", prompt: [1, 2], completion: [3, 4, 5])
        Self.insert(index, "long", prompt: [1, 2, 3, 4], completion: [5, 6, 7, 8], isFinal: true)
        let matches = index.lookup(family: 1, query: [1, 2, 3, 4, 5], now: 1001)
        // The one that ended by itself (nothing unknown after it) comes first.
        #expect(matches.map(\.record.value) == ["long", "short"])
        #expect(matches.map(\.offset) == [1, 3])
    }

    @Test func aLongerCompletionOfTheSamePromptReplacesTheOneItCovers() {
        let index = Index(capacityBytes: 1 << 20)
        Self.insert(index, "four", prompt: [1, 2], completion: [3, 4, 5, 6])
        // Covered by "four": not added.
        Self.insert(index, "two", prompt: [1, 2], completion: [3, 4])
        #expect(index.count == 1)
        // Covers "four": replaces it.
        Self.insert(index, "eight", prompt: [1, 2], completion: [3, 4, 5, 6, 7, 8, 9, 10])
        #expect(index.count == 1)
        #expect(index.lookup(family: 1, query: [1, 2], now: 1001).map(\.record.value) == ["eight"])
        // A completion that diverges is another answer under other settings (a stop string cut it): kept beside.
        Self.insert(index, "other", prompt: [1, 2], completion: [3, 9], isFinal: true)
        #expect(index.count == 2)
        // The same tokens but ending by itself tells more than a cut one of equal length.
        Self.insert(index, "final", prompt: [1, 2], completion: [3, 4, 5, 6, 7, 8, 9, 10], isFinal: true)
        #expect(index.lookup(family: 1, query: [1, 2, 3], now: 1001).map(\.record.value) == ["final", "other"])
        #expect(index.count == 2)
    }

    @Test func theByteBudgetEvictsTheLeastRecentlyUsed() {
        // Each record weighs 160 + 4 * 4 + 1000 bytes: ten fit in 12 kB, not eleven.
        let index = Index(capacityBytes: 12_000)
        for i in 0..<10 { Self.insert(index, "r\(i)", prompt: [Int32(i), 1], completion: [2, 3], valueBytes: 1000) }
        #expect(index.count == 10 && index.bytes <= 12_000)
        // Touch r0 so that it is the most recently used.
        #expect(index.lookup(family: 1, query: [0, 1], now: 1001).count == 1)
        Self.insert(index, "r10", prompt: [10, 1], completion: [2, 3], valueBytes: 1000)
        #expect(index.bytes <= 12_000 - 1200)
        #expect(index.lookup(family: 1, query: [0, 1], now: 1001).count == 1, "the recently used record stays")
        #expect(index.lookup(family: 1, query: [10, 1], now: 1001).count == 1, "the new record stays")
        #expect(index.lookup(family: 1, query: [1, 1], now: 1001).isEmpty, "the least recently used went")
        // A record larger than the whole budget is not kept at all.
        Self.insert(index, "huge", prompt: [42], completion: [1], valueBytes: 20_000)
        #expect(index.lookup(family: 1, query: [42], now: 1001).isEmpty)
    }

    @Test func expiredRecordsAndRefusedOnesAreNotReturned() {
        let index = Index(capacityBytes: 1 << 20)
        Self.insert(index, "old", prompt: [1, 2], completion: [3], createdAt: 1000)
        #expect(index.lookup(family: 1, query: [1, 2], now: 1000 + 3599).count == 1)
        #expect(index.lookup(family: 1, query: [1, 2], now: 1000 + 1, accepts: { $0.age(now: 1001) > 5 }).isEmpty)
        #expect(index.lookup(family: 1, query: [1, 2], now: 1000 + 3600).isEmpty)
        #expect(index.count == 0, "an expired record found by a lookup is dropped")
        #expect(!index.holds(family: 1))
    }

    @Test func purgesDropWhatTheSelectorMatchesAndAPurgeOfTheCacheReachesTheIndex() throws {
        let index = Index(capacityBytes: 1 << 20)
        Self.insert(index, "a", prompt: [1], completion: [2], tenant: "t1")
        Self.insert(index, "b", prompt: [5], completion: [6], tenant: "t2")
        #expect(index.purge(PurgeSelector(tenant: "t1"), now: 1001) == 1)
        #expect(index.lookup(family: 1, query: [1], now: 1001).isEmpty)
        #expect(index.lookup(family: 1, query: [5], now: 1001).count == 1)

        let cache = ResponseCache(memory: MemoryTier(capacityBytes: 1 << 20), disk: nil, sideIndexes: [index])
        _ = try cache.purge(PurgeSelector(), now: 1001)
        #expect(index.count == 0 && index.bytes == 0)
        #expect(!index.holds(family: 1))
    }

    @Test func concurrentInsertsAndLookupsKeepTheIndexConsistent() async {
        let index = Index(capacityBytes: 64_000)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for i in 0..<500 {
                        let prompt: [Int32] = [Int32(worker), Int32(i % 50)]
                        Self.insert(index, "w\(worker)-\(i)", prompt: prompt, completion: [Int32(i), 7], valueBytes: 100)
                        _ = index.lookup(family: 1, query: prompt + [Int32(i)], now: 1001)
                    }
                }
            }
        }
        #expect(index.bytes <= 64_000)
        #expect(index.bytes == index.count * (160 + 16 + 100))
    }
}
