import CTransformerKernels

extension TransformerModel {
    /// Writes the chunk's keys (already rotated) and values into their cache slots.
    func store(layer l: Int, rows: ChunkRows, cache: KVCache, scratch s: TransformerScratch) {
        let c = configuration
        let hd = c.headDimension
        let blockTokens = cache.blockTokens
        for r in 0..<rows.count {
            let position = rows.positions[r]
            let block = rows.tables[r][position / blockTokens]
            let slot = position % blockTokens
            for g in 0..<c.kvHeadCount {
                let k = s.key + r * c.kvDimension + g * hd
                let v = s.value + r * c.kvDimension + g * hd
                let kDestination = cache.keys(block: block, layer: l, head: g)
                let vDestination = cache.values(block: block, layer: l, head: g)
                switch cache.storage {
                case .f32:
                    let kd = kDestination.assumingMemoryBound(to: Float.self) + slot * hd
                    let vd = vDestination.assumingMemoryBound(to: Float.self) + slot * hd
                    kd.update(from: k, count: hd)
                    vd.update(from: v, count: hd)
                case .f16:
                    let kd = kDestination.assumingMemoryBound(to: Float16.self) + slot * hd
                    let vd = vDestination.assumingMemoryBound(to: Float16.self) + slot * hd
                    for i in 0..<hd {
                        kd[i] = Float16(k[i])
                        vd[i] = Float16(v[i])
                    }
                }
            }
        }
    }

    /// Causal attention of every row over its own sequence, up to and including its position.
    ///
    /// Work is split into (query head, run of rows) tasks on the pool; each task has its own
    /// scores row and block buffer in the scratch. Scores are `q . k / sqrt(headDimension)`,
    /// softmax in float with the maximum subtracted, then the weighted sum of values.
    func attend(layer l: Int, rows: ChunkRows, cache: KVCache, scratch s: TransformerScratch) {
        let c = configuration
        let heads = c.headCount
        if rows.count <= Self.groupedAttentionRows {
            attendDecoding(layer: l, rows: rows, cache: cache, scratch: s)
            return
        }
        let splits = min(rows.count, max(1, s.taskSlots / heads))
        let tasks = heads * splits
        let body: (Int) -> Void = { task in
            let head = task / splits
            let split = task % splits
            let first = split * rows.count / splits
            let end = (split + 1) * rows.count / splits
            for r in first..<end {
                self.attendRow(r, head: head, slot: task, layer: l, rows: rows, cache: cache, scratch: s)
            }
        }
        if let pool, tasks > 1 {
            pool.parallelFor(count: tasks, body)
        } else {
            for task in 0..<tasks { body(task) }
        }
    }

    /// Chunks of at most this many rows (a decode step of a batch of sequences) attend by kv head group.
    static var groupedAttentionRows: Int { 16 }

    /// Decoding rows (one, or one per sequence of a batch): a task takes some query heads of one kv head for
    /// every row, so each key and value block is converted (from F16) once for all of them instead of once per
    /// query head. Each head's scores and sums are computed in the same order as `attendRow`, so the bits are
    /// the same; the rows run one after another inside a task, so the scratch slots stay one per head.
    private func attendDecoding(layer l: Int, rows: ChunkRows, cache: KVCache, scratch s: TransformerScratch) {
        let c = configuration
        let group = c.groupSize
        let threads = pool?.threadCount ?? 1
        let parts = min(group, max(1, (2 * threads + c.kvHeadCount - 1) / c.kvHeadCount))
        let tasks = c.kvHeadCount * parts
        let body: (Int) -> Void = { task in
            let kvHead = task / parts
            let part = task % parts
            let first = kvHead * group + part * group / parts
            let end = kvHead * group + (part + 1) * group / parts
            for r in 0..<rows.count {
                self.attendGroup(r, heads: first..<end, kvHead: kvHead, layer: l, rows: rows, cache: cache, scratch: s)
            }
        }
        if let pool, tasks > 1 {
            pool.parallelFor(count: tasks, body)
        } else {
            for task in 0..<tasks { body(task) }
        }
    }

    /// Row `r` for the query heads `heads`, all of kv head `kvHead`; head h uses scores slot h, and the block
    /// buffer of slot `heads.lowerBound`.
    private func attendGroup(
        _ r: Int,
        heads: Range<Int>,
        kvHead: Int,
        layer l: Int,
        rows: ChunkRows,
        cache: KVCache,
        scratch s: TransformerScratch
    ) {
        guard !heads.isEmpty else { return }
        let c = configuration
        let hd = c.headDimension
        let blockTokens = cache.blockTokens
        let table = rows.tables[r]
        let count = rows.positions[r] + 1
        let blocks = (count + blockTokens - 1) / blockTokens
        let converted = s.blockFloats + heads.lowerBound * s.blockFloatsPerTask
        let scale = 1 / Float(hd).squareRoot()

        let f16: Int32 = cache.storage == .f16 ? 1 : 0
        let headCount = Int64(heads.count)
        let firstQuery = s.query + r * c.queryDimension + heads.lowerBound * hd
        let firstScores = s.scores + heads.lowerBound * s.scoresPerTask
        let firstOutput = s.attention + r * c.queryDimension + heads.lowerBound * hd
        if MatrixKernels.SIMDLevel.detected >= .avx2 {
            // The same arithmetic in C, reading F16 blocks in place.
            for b in 0..<blocks {
                let slots = min(blockTokens, count - b * blockTokens)
                _ = tk_attention_scores(
                    firstQuery, headCount, Int64(hd), cache.keys(block: table[b], layer: l, head: kvHead), f16,
                    Int64(slots), Int64(hd), scale, firstScores + b * blockTokens, Int64(s.scoresPerTask))
            }
            for head in heads {
                VectorMath.softmax(s.scores + head * s.scoresPerTask, count)
                (s.attention + r * c.queryDimension + head * hd).update(repeating: 0, count: hd)
            }
            for b in 0..<blocks {
                let slots = min(blockTokens, count - b * blockTokens)
                _ = tk_attention_accumulate(
                    firstOutput, headCount, Int64(hd), cache.values(block: table[b], layer: l, head: kvHead), f16,
                    Int64(slots), Int64(hd), firstScores + b * blockTokens, Int64(s.scoresPerTask))
            }
            return
        }
        for b in 0..<blocks {
            let slots = min(blockTokens, count - b * blockTokens)
            let keys = floats(cache.keys(block: table[b], layer: l, head: kvHead), count: slots * hd, cache, converted)
            for head in heads {
                let query = UnsafePointer(s.query + r * c.queryDimension + head * hd)
                let scores = s.scores + head * s.scoresPerTask + b * blockTokens
                for j in 0..<slots {
                    scores[j] = VectorMath.dot(query, keys + j * hd, hd) * scale
                }
            }
        }
        for head in heads {
            VectorMath.softmax(s.scores + head * s.scoresPerTask, count)
            (s.attention + r * c.queryDimension + head * hd).update(repeating: 0, count: hd)
        }
        for b in 0..<blocks {
            let slots = min(blockTokens, count - b * blockTokens)
            let values = floats(
                cache.values(block: table[b], layer: l, head: kvHead),
                count: slots * hd,
                cache,
                converted
            )
            for head in heads {
                let output = s.attention + r * c.queryDimension + head * hd
                let scores = s.scores + head * s.scoresPerTask + b * blockTokens
                for j in 0..<slots {
                    VectorMath.addScaled(output, values + j * hd, scores[j], hd)
                }
            }
        }
    }

    private func attendRow(
        _ r: Int,
        head: Int,
        slot: Int,
        layer l: Int,
        rows: ChunkRows,
        cache: KVCache,
        scratch s: TransformerScratch
    ) {
        let c = configuration
        let hd = c.headDimension
        let kvHead = head / c.groupSize
        let blockTokens = cache.blockTokens
        let table = rows.tables[r]
        let count = rows.positions[r] + 1
        let blocks = (count + blockTokens - 1) / blockTokens
        let query = UnsafePointer(s.query + r * c.queryDimension + head * hd)
        let scores = s.scores + slot * s.scoresPerTask
        let converted = s.blockFloats + slot * s.blockFloatsPerTask
        let scale = 1 / Float(hd).squareRoot()

        for b in 0..<blocks {
            let slots = min(blockTokens, count - b * blockTokens)
            let keys = floats(cache.keys(block: table[b], layer: l, head: kvHead), count: slots * hd, cache, converted)
            for j in 0..<slots {
                scores[b * blockTokens + j] = VectorMath.dot(query, keys + j * hd, hd) * scale
            }
        }
        VectorMath.softmax(scores, count)

        let output = s.attention + r * c.queryDimension + head * hd
        output.update(repeating: 0, count: hd)
        for b in 0..<blocks {
            let slots = min(blockTokens, count - b * blockTokens)
            let values = floats(
                cache.values(block: table[b], layer: l, head: kvHead),
                count: slots * hd,
                cache,
                converted
            )
            for j in 0..<slots {
                VectorMath.addScaled(output, values + j * hd, scores[b * blockTokens + j], hd)
            }
        }
    }

    /// Block memory as floats: in place for an F32 cache, converted into `buffer` for F16.
    @inline(__always)
    private func floats(
        _ raw: UnsafeMutableRawPointer,
        count: Int,
        _ cache: KVCache,
        _ buffer: UnsafeMutablePointer<Float>
    ) -> UnsafePointer<Float> {
        switch cache.storage {
        case .f32:
            return UnsafePointer(raw.assumingMemoryBound(to: Float.self))
        case .f16:
            MatrixKernels.dequantize(.f16, from: raw, to: buffer, count: count)
            return UnsafePointer(buffer)
        }
    }
}
