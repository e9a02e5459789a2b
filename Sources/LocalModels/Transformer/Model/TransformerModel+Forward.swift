extension TransformerModel {
    /// Where the rows of one forward pass go: per row its position and its sequence's block table.
    struct ChunkRows {
        var positions: UnsafeBufferPointer<Int>
        var tables: UnsafeBufferPointer<UnsafePointer<Int32>>
        var count: Int { positions.count }
    }

    /// Runs the batch through the decoder in chunks of `chunkSize` rows, after `reserve` has
    /// made room in every block table. Cannot fail: every check ran before.
    func forward(_ batch: [TransformerBatchEntry], cache: KVCache, scratch s: TransformerScratch) -> [[Float]] {
        let vocabulary = configuration.vocabularySize
        var results = batch.map {
            [Float](repeating: 0, count: $0.logits.rowCount(tokens: $0.tokens.count) * vocabulary)
        }
        var tokens: [Int32] = []
        var positions: [Int] = []
        var rowEntry: [Int] = []
        // Row of the entry's logits for each batch row, -1 where none were asked for.
        var logitRow: [Int] = []
        for (e, entry) in batch.enumerated() {
            let n = entry.tokens.count
            let first = n - entry.logits.rowCount(tokens: n)
            for (i, token) in entry.tokens.enumerated() {
                tokens.append(token)
                positions.append(entry.sequence.count + i)
                rowEntry.append(e)
                logitRow.append(i >= first ? i - first : -1)
            }
        }
        guard !tokens.isEmpty else { return results }
        s.ensure(positions: positions.max()! + 1, blockValues: cache.blockTokens * configuration.headDimension)

        // Block tables stay put for the whole pass: reserve already grew them.
        let tables = batch.map { $0.sequence.blocks }
        withBlockTablePointers(tables) { tablePointers in
            var start = 0
            while start < tokens.count {
                let end = min(start + chunkSize, tokens.count)
                let rowTables = (start..<end).map { tablePointers[rowEntry[$0]] }
                positions[start..<end].withUnsafeBufferPointer { chunkPositions in
                    rowTables.withUnsafeBufferPointer { chunkTables in
                        let rows = ChunkRows(positions: chunkPositions, tables: chunkTables)
                        embed(Array(tokens[start..<end]), rows: rows, scratch: s)
                        for l in 0..<configuration.blockCount {
                            layer(l, rows: rows, cache: cache, scratch: s)
                        }
                    }
                }
                writeLogits(
                    rows: start..<end,
                    rowEntry: rowEntry,
                    logitRow: logitRow,
                    into: &results,
                    scratch: s
                )
                start = end
            }
        }
        return results
    }

    /// Token embeddings into the residual stream, and each row's rotary cos/sin.
    private func embed(_ tokens: [Int32], rows: ChunkRows, scratch s: TransformerScratch) {
        let dim = configuration.embeddingLength
        let embedding = weights.tokenEmbedding
        for (r, token) in tokens.enumerated() {
            MatrixKernels.dequantize(
                embedding.type,
                from: embedding.base + Int(token) * embedding.rowBytes,
                to: s.hidden + r * dim,
                count: dim
            )
            rotary.angles(position: rows.positions[r], into: s.rope + r * configuration.ropeDimensionCount)
        }
    }

    /// One decoder block over the chunk: pre-norm attention and SwiGLU feed-forward, each added
    /// back into the residual stream.
    private func layer(_ l: Int, rows: ChunkRows, cache: KVCache, scratch s: TransformerScratch) {
        let c = configuration
        let w = weights.layers[l]
        let n = rows.count
        let dim = c.embeddingLength
        normalize(s.hidden, rows: n, weight: w.attentionNorm, into: s.normed)
        if n == 1 {
            // Decode: q, k and v in one pool run over one quantised input.
            withBiases(w.queryBias, w.keyBias, w.valueBias) { qb, kb, vb in
                MatrixKernels.matVecs(
                    [
                        .init(weights: w.query, output: s.query, bias: qb),
                        .init(weights: w.key, output: s.key, bias: kb),
                        .init(weights: w.value, output: s.value, bias: vb),
                    ],
                    input: s.normed,
                    pool: pool
                )
            }
        } else {
            multiply(w.query, s.normed, rows: n, into: s.query, bias: w.queryBias)
            multiply(w.key, s.normed, rows: n, into: s.key, bias: w.keyBias)
            multiply(w.value, s.normed, rows: n, into: s.value, bias: w.valueBias)
        }
        for r in 0..<n {
            let table = s.rope + r * c.ropeDimensionCount
            rotary.apply(
                s.query + r * c.queryDimension,
                heads: c.headCount,
                headDimension: c.headDimension,
                table: table
            )
            rotary.apply(s.key + r * c.kvDimension, heads: c.kvHeadCount, headDimension: c.headDimension, table: table)
        }
        store(layer: l, rows: rows, cache: cache, scratch: s)
        attend(layer: l, rows: rows, cache: cache, scratch: s)
        multiply(w.attentionOutput, s.attention, rows: n, into: s.projected, bias: w.attentionOutputBias)
        VectorMath.add(s.hidden, s.projected, n * dim)

        normalize(s.hidden, rows: n, weight: w.feedForwardNorm, into: s.normed)
        if n == 1 {
            // Decode: gate and up chunk by chunk in one pool run, SwiGLU applied to each chunk as it is done.
            let gate = s.gate
            let up = s.up
            withBiases(w.gateBias, w.upBias, nil) { gb, ub, _ in
                MatrixKernels.matVecs(
                    [.init(weights: w.gate, output: gate, bias: gb), .init(weights: w.up, output: up, bias: ub)],
                    input: s.normed,
                    pool: pool,
                    rowwise: { r0, count in VectorMath.swiGLU(gate + r0, up + r0, count) }
                )
            }
        } else {
            multiply(w.gate, s.normed, rows: n, into: s.gate, bias: w.gateBias)
            multiply(w.up, s.normed, rows: n, into: s.up, bias: w.upBias)
            VectorMath.swiGLU(s.gate, s.up, n * c.feedForwardLength)
        }
        multiply(w.down, s.gate, rows: n, into: s.projected, bias: w.downBias)
        VectorMath.add(s.hidden, s.projected, n * dim)
    }

    /// The final norm and output head for the rows of `chunk` that asked for logits, written
    /// into each entry's result. All of them share one multiplication, so a decode step of N
    /// sequences reads the output head (a small model's largest matrix) once, not N times; rows
    /// of several entries go through a buffer and are copied out.
    private func writeLogits(
        rows chunk: Range<Int>,
        rowEntry: [Int],
        logitRow: [Int],
        into results: inout [[Float]],
        scratch s: TransformerScratch
    ) {
        let dim = configuration.embeddingLength
        let vocabulary = configuration.vocabularySize
        let wanted = chunk.filter { logitRow[$0] >= 0 }
        guard let first = wanted.first else { return }
        for (k, r) in wanted.enumerated() {
            normalize(s.hidden + (r - chunk.lowerBound) * dim, rows: 1, weight: weights.outputNorm, into: s.normed + k * dim)
        }
        // One entry's consecutive rows land straight in its result.
        let direct = wanted.allSatisfy { rowEntry[$0] == rowEntry[first] && logitRow[$0] == logitRow[first] + $0 - first }
        if direct {
            let offset = logitRow[first] * vocabulary
            results[rowEntry[first]].withUnsafeMutableBufferPointer { out in
                multiply(weights.output, s.normed, rows: wanted.count, into: out.baseAddress! + offset, bias: weights.outputBias)
            }
            return
        }
        var gathered = [Float](repeating: 0, count: wanted.count * vocabulary)
        gathered.withUnsafeMutableBufferPointer { out in
            multiply(weights.output, s.normed, rows: wanted.count, into: out.baseAddress!, bias: weights.outputBias)
        }
        for (k, r) in wanted.enumerated() {
            let offset = logitRow[r] * vocabulary
            results[rowEntry[r]].withUnsafeMutableBufferPointer { out in
                gathered.withUnsafeBufferPointer { source in
                    (out.baseAddress! + offset).update(from: source.baseAddress! + k * vocabulary, count: vocabulary)
                }
            }
        }
    }

    private func normalize(
        _ x: UnsafeMutablePointer<Float>,
        rows n: Int,
        weight: [Float],
        into y: UnsafeMutablePointer<Float>
    ) {
        let dim = configuration.embeddingLength
        weight.withUnsafeBufferPointer { w in
            for r in 0..<n {
                VectorMath.rmsNorm(
                    x + r * dim,
                    weight: w.baseAddress!,
                    epsilon: configuration.rmsEpsilon,
                    y + r * dim,
                    dim
                )
            }
        }
    }

    /// `output[r] = w * input[r] (+ bias)` for `n` rows: one `matVec` when decoding a single token.
    private func multiply(
        _ w: WeightMatrix,
        _ input: UnsafePointer<Float>,
        rows n: Int,
        into output: UnsafeMutablePointer<Float>,
        bias: [Float]?
    ) {
        if n == 1 {
            withBiases(bias, nil, nil) { b, _, _ in
                MatrixKernels.matVecs([.init(weights: w, output: output, bias: b)], input: input, pool: pool)
            }
            return
        }
        MatrixKernels.matMul(w, input: input, tokens: n, output: output, pool: pool)
        bias?.withUnsafeBufferPointer { b in
            for r in 0..<n { VectorMath.add(output + r * w.rows, b.baseAddress!, w.rows) }
        }
    }

    /// Calls `body` with pointers to the elements of up to three optional bias arrays.
    private func withBiases<R>(
        _ a: [Float]?,
        _ b: [Float]?,
        _ c: [Float]?,
        _ body: (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?) -> R
    ) -> R {
        func with(_ x: [Float]?, _ next: (UnsafePointer<Float>?) -> R) -> R {
            guard let x else { return next(nil) }
            return x.withUnsafeBufferPointer { next($0.baseAddress) }
        }
        return with(a) { pa in with(b) { pb in with(c) { pc in body(pa, pb, pc) } } }
    }
}

/// Calls `body` with a stable pointer to each table's elements (every table of a pass with
/// tokens holds at least one block, so the storage is never empty).
private func withBlockTablePointers<R>(
    _ tables: [[Int32]],
    _ body: ([UnsafePointer<Int32>]) -> R
) -> R {
    let flat = tables.flatMap { $0 }
    var starts: [Int] = []
    var offset = 0
    for table in tables {
        starts.append(offset)
        offset += table.count
    }
    return flat.withUnsafeBufferPointer { buffer in
        body(starts.map { buffer.baseAddress! + $0 })
    }
}
