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
