extension KVCache {
    /// Blocks needed to hold `positions` positions.
    func blocksCovering(_ positions: Int) -> Int {
        (positions + blockTokens - 1) / blockTokens
    }

    /// Blocks `reserve(sequences, adding:)` would take from the free list now.
    func blocksNeeded(_ sequences: [KVSequence], adding: [Int]) -> Int {
        state.withLock { table in
            var needed = 0
            for (sequence, extra) in zip(sequences, adding) {
                let copy =
                    extra > 0 && sequence.count % blockTokens != 0
                    && table.referenceCount(sequence.blocks[sequence.blocks.count - 1]) > 1
                needed += blocksCovering(sequence.count + extra) - sequence.blocks.count + (copy ? 1 : 0)
            }
            return needed
        }
    }

    /// Blocks no sequence (and no cached prefix) holds.
    var freeBlocks: Int { state.withLock { $0.freeCount } }

    /// Makes room for `adding[i]` more positions in `sequences[i]`, for all of them or none.
    ///
    /// New blocks are appended to each block table; a partly filled last block that another
    /// sequence shares is first replaced by a private copy, since the new positions are written
    /// into it. Throws `TransformerError.cacheFull`, taking nothing, when the free blocks do not
    /// cover every sequence.
    func reserve(_ sequences: [KVSequence], adding: [Int]) throws {
        try state.withLock { table in
            var needed = 0
            var copies: [Bool] = []
            for (sequence, extra) in zip(sequences, adding) {
                let copy =
                    extra > 0 && sequence.count % blockTokens != 0
                    && table.referenceCount(sequence.blocks[sequence.blocks.count - 1]) > 1
                copies.append(copy)
                needed += blocksCovering(sequence.count + extra) - sequence.blocks.count + (copy ? 1 : 0)
            }
            guard var fresh = table.allocate(needed) else {
                throw TransformerError(
                    .cacheFull,
                    "\(needed) more blocks of \(blockTokens) positions needed, \(table.freeCount) of "
                        + "\(capacityBlocks) free (\(capacityBytes) bytes)"
                )
            }
            for (i, sequence) in sequences.enumerated() {
                if copies[i] {
                    let shared = sequence.blocks[sequence.blocks.count - 1]
                    let own = fresh.removeLast()
                    copyBlock(from: shared, to: own)
                    table.release(CollectionOfOne(shared))
                    sequence.blocks[sequence.blocks.count - 1] = own
                }
                let more = blocksCovering(sequence.count + adding[i]) - sequence.blocks.count
                sequence.blocks.append(contentsOf: fresh.suffix(more))
                fresh.removeLast(more)
            }
        }
    }
}
