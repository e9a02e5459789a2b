import Testing

@testable import LocalModels

@Suite struct KVCacheTests {
    private func cache(blocks: Int, storage: KVCache.Storage = .f32) throws -> KVCache {
        let blockBytes = 2 * 2 * 3 * 4 * 8 * storage.bytesPerElement
        return try KVCache(
            layers: 2,
            kvHeads: 3,
            headDimension: 8,
            blockTokens: 4,
            storage: storage,
            maxBytes: blocks * blockBytes + 5
        )
    }

    @Test func blockSizeAndCapacityFollowTheShape() throws {
        let f16 = try cache(blocks: 10, storage: .f16)
        #expect(f16.blockBytes == 2 * 2 * 3 * 4 * 8 * 2)
        #expect(f16.capacityBlocks == 10)
        let f32 = try cache(blocks: 10)
        #expect(f32.blockBytes == 2 * f16.blockBytes)
        #expect(f32.bytesInUse == 0)
        #expect(throws: TransformerError.self) {
            try KVCache(layers: 2, kvHeads: 3, headDimension: 8, blockTokens: 4, maxBytes: 100)
        }
    }

    @Test func reserveCountsBlocksAndDroppingASequenceFreesThem() throws {
        let cache = try cache(blocks: 10)
        do {
            let a = cache.makeSequence()
            try cache.reserve([a], adding: [5])
            #expect(a.blocks.count == 2)
            #expect(cache.bytesInUse == 2 * cache.blockBytes)
            a.count = 5
            try cache.reserve([a], adding: [3])  // positions 5..<8 fit in block 2
            #expect(a.blocks.count == 2)
            a.count = 8
            try cache.reserve([a], adding: [1])
            #expect(a.blocks.count == 3)
            #expect(Set(a.blocks).count == 3)
        }
        #expect(cache.blocksInUse == 0)
    }

    @Test func aFullCacheRefusesTheWholeRequestAndTakesNothing() throws {
        let cache = try cache(blocks: 3)
        let a = cache.makeSequence()
        let b = cache.makeSequence()
        try cache.reserve([a], adding: [4])
        a.count = 4
        let error = #expect(throws: TransformerError.self) {
            try cache.reserve([a, b], adding: [4, 8])  // 1 + 2 blocks needed, 2 free
        }
        #expect(error?.code == .cacheFull)
        #expect(a.blocks.count == 1)
        #expect(b.blocks.isEmpty)
        #expect(cache.blocksInUse == 1)
    }

    @Test func forkSharesBlocksAndCopiesAPartlyFilledOneBeforeWriting() throws {
        let cache = try cache(blocks: 10)
        let a = cache.makeSequence()
        try cache.reserve([a], adding: [6])
        a.count = 6
        let keys = cache.keys(block: a.blocks[1], layer: 1, head: 2).assumingMemoryBound(to: Float.self)
        keys[0] = 42  // position 4, layer 1, head 2, element 0

        let b = a.fork(prefix: 5)
        #expect(b.count == 5)
        #expect(b.blocks == a.blocks)
        #expect(cache.blocksInUse == 2)

        try cache.reserve([b], adding: [1])  // b writes position 5 in the shared second block
        #expect(b.blocks[0] == a.blocks[0])
        #expect(b.blocks[1] != a.blocks[1])
        #expect(cache.blocksInUse == 3)
        let copied = cache.keys(block: b.blocks[1], layer: 1, head: 2).assumingMemoryBound(to: Float.self)
        #expect(copied[0] == 42)

        let c = a.fork(prefix: 4)  // ends on a block boundary: nothing to copy later
        try cache.reserve([c], adding: [2])
        #expect(c.blocks[0] == a.blocks[0])
        #expect(c.blocks.count == 2)
        #expect(cache.blocksInUse == 4)
    }

    @Test func truncateReturnsWholeBlocksOnly() throws {
        let cache = try cache(blocks: 10)
        let a = cache.makeSequence()
        try cache.reserve([a], adding: [10])
        a.count = 10
        #expect(cache.blocksInUse == 3)
        a.truncate(to: 5)
        #expect(a.count == 5)
        #expect(a.blocks.count == 2)
        #expect(cache.blocksInUse == 2)
        a.truncate(to: 0)
        #expect(a.blocks.isEmpty)
        #expect(cache.bytesInUse == 0)
    }
}
