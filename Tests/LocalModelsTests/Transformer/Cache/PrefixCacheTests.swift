import Foundation
import Testing

@testable import LocalModels

/// The prefix tree over KV blocks: longest whole-block match, reference counts, LRU eviction of
/// unused leaves, and scopes that never see each other's state.
@Suite struct PrefixCacheTests {
    static func cache(blocks: Int = 32) throws -> KVCache {
        let probe = try KVCache(layers: 1, kvHeads: 1, headDimension: 4, blockTokens: 4, storage: .f32, maxBytes: 1 << 20)
        return try KVCache(
            layers: 1, kvHeads: 1, headDimension: 4, blockTokens: 4, storage: .f32, maxBytes: blocks * probe.blockBytes)
    }

    /// A sequence that "evaluated" `tokens`: blocks allocated as the model would.
    static func evaluated(_ cache: KVCache, _ tokens: [Int32]) throws -> KVSequence {
        let sequence = cache.makeSequence()
        try cache.reserve([sequence], adding: [tokens.count])
        sequence.count = tokens.count
        return sequence
    }

    static func tokens(_ range: Range<Int32>) -> [Int32] { Array(range) }

    @Test func theLongestWholeBlockPrefixIsReusedAndOneTokenIsAlwaysLeft() throws {
        let kv = try Self.cache()
        let prefix = PrefixCache(cache: kv, capacityBlocks: 16)
        let first = Self.tokens(0..<10)  // two whole blocks and two tokens
        let sequence = try Self.evaluated(kv, first)
        prefix.store(sequence, tokens: first, scope: "a")
        #expect(prefix.statistics.blocks == 2)

        // The same prompt again: two blocks (8 tokens) come back; the rest is computed.
        let again = prefix.sequence(reusing: first, scope: "a")
        #expect(again.reused == 8 && again.sequence.count == 8)
        #expect(again.sequence.blocks == Array(sequence.blocks.prefix(2)))

        // Exactly eight tokens: only one block may be reused, so the last token is computed.
        let eight = prefix.sequence(reusing: Self.tokens(0..<8), scope: "a")
        #expect(eight.reused == 4)

        // A prompt that diverges inside the second block reuses the first only.
        var diverging = first
        diverging[5] = 99
        #expect(prefix.sequence(reusing: diverging, scope: "a").reused == 4)
        // A prompt that diverges at once reuses nothing.
        #expect(prefix.sequence(reusing: [7] + first, scope: "a").reused == 0)
    }

    @Test func scopesNeverShareState() throws {
        let kv = try Self.cache()
        let prefix = PrefixCache(cache: kv, capacityBlocks: 16)
        let prompt = Self.tokens(0..<12)
        prefix.store(try Self.evaluated(kv, prompt), tokens: prompt, scope: "tenant-a")
        #expect(prefix.sequence(reusing: prompt, scope: "tenant-a").reused == 8)
        #expect(prefix.sequence(reusing: prompt, scope: "tenant-b").reused == 0)
    }

    @Test func referenceCountsKeepSharedBlocksAliveAndFreeThemAtTheEnd() throws {
        let kv = try Self.cache()
        let prefix = PrefixCache(cache: kv, capacityBlocks: 16)
        let prompt = Self.tokens(0..<8)
        var sequence: KVSequence? = try Self.evaluated(kv, prompt)
        prefix.store(sequence!, tokens: prompt, scope: "a")
        let blocks = sequence!.blocks
        #expect(kv.state.withLock { table in blocks.map { table.referenceCount($0) } } == [2, 2])
        sequence = nil  // the request finished: the tree alone holds the blocks
        #expect(kv.state.withLock { table in blocks.map { table.referenceCount($0) } } == [1, 1])
        let reused = prefix.sequence(reusing: prompt + [8], scope: "a").sequence
        #expect(kv.state.withLock { table in blocks.map { table.referenceCount($0) } } == [2, 2])
        _ = reused
        prefix.removeAll()
        #expect(kv.blocksInUse == 2, "only the live sequence holds them now")
    }

    @Test func theTreeStaysWithinItsCapacityDroppingTheLeastRecentlyUsedLeaves() throws {
        let kv = try Self.cache(blocks: 64)
        let prefix = PrefixCache(cache: kv, capacityBlocks: 4)
        let old = Self.tokens(0..<8)
        let recent = Self.tokens(100..<108)
        prefix.store(try Self.evaluated(kv, old), tokens: old, scope: "a")
        prefix.store(try Self.evaluated(kv, recent), tokens: recent, scope: "a")
        #expect(prefix.statistics.blocks == 4)
        _ = prefix.sequence(reusing: recent + [1], scope: "a")  // touch the recent one
        let newest = Self.tokens(200..<208)
        prefix.store(try Self.evaluated(kv, newest), tokens: newest, scope: "a")
        #expect(prefix.statistics.blocks == 4)
        #expect(prefix.statistics.evictedBlocks == 2)
        #expect(prefix.sequence(reusing: old + [1], scope: "a").reused == 0, "the least recently used went first")
        #expect(prefix.sequence(reusing: recent + [1], scope: "a").reused == 8)
        #expect(prefix.sequence(reusing: newest + [1], scope: "a").reused == 8)
    }

    @Test func aBlockInUseIsNotEvictedAndTheParentGoesAfterItsChildren() throws {
        let kv = try Self.cache(blocks: 64)
        let prefix = PrefixCache(cache: kv, capacityBlocks: 16)
        let busy = Self.tokens(0..<8)
        let running = try Self.evaluated(kv, busy)
        prefix.store(running, tokens: busy, scope: "a")  // still running: its blocks are referenced twice
        let idle = Self.tokens(50..<62)
        prefix.store(try Self.evaluated(kv, idle), tokens: idle, scope: "a")
        // Asking for every block the pool has: only the idle chain can go, deepest first.
        prefix.makeRoom(forBlocks: 64)
        #expect(prefix.statistics.blocks == 2)
        #expect(prefix.sequence(reusing: busy + [1], scope: "a").reused == 8)
        #expect(prefix.sequence(reusing: idle + [1], scope: "a").reused == 0)
        _ = running
    }

    @Test func aDisabledCacheKeepsNothing() throws {
        let kv = try Self.cache()
        let prefix = PrefixCache(cache: kv, capacityBlocks: 0)
        let prompt = Self.tokens(0..<8)
        prefix.store(try Self.evaluated(kv, prompt), tokens: prompt, scope: "a")
        #expect(prefix.statistics.blocks == 0)
        #expect(kv.blocksInUse == 0)
    }
}
