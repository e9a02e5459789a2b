import CTransformerKernels

extension MatrixKernels {
    /// One matrix-vector product of a group: `output = w * input (+ bias)`.
    struct VectorProduct {
        var weights: WeightMatrix
        var output: UnsafeMutablePointer<Float>
        var bias: UnsafePointer<Float>?
    }

    /// Several matrix-vector products of one input (same column count) in a single pool run: the input is
    /// quantised once per activation type, and the row chunks of every product are handed out together, each
    /// followed by its bias. Decode does this for q/k/v and gate/up, so a layer costs 4 hand-offs instead of 7
    /// (and the small k/v products run on both threads instead of inline on one).
    ///
    /// With `rowwise`, every product must have the same rows: a work item then computes one chunk of rows of
    /// every product, its biases, and calls `rowwise(r0, count)` for those rows (gate/up apply SwiGLU there),
    /// so the element-wise step runs on the pool too. Results are bit-identical to one `matVec` per product
    /// followed by the bias add (each row's dot product does not depend on the chunking, and the bias is one
    /// float add per element either way).
    static func matVecs(
        _ products: [VectorProduct],
        input: UnsafePointer<Float>,
        pool: EngineThreadPool?,
        simdLimit: SIMDLevel = .avx512,
        rowwise: ((Int, Int) -> Void)? = nil
    ) {
        guard let first = products.first else { return }
        let columns = first.weights.columns
        for p in products {
            precondition(isSupported(p.weights.type), "MatrixKernels: unsupported weight type \(p.weights.type)")
            precondition(p.weights.columns == columns, "MatrixKernels.matVecs: products of different widths")
            precondition(rowwise == nil || p.weights.rows == first.weights.rows, "MatrixKernels.matVecs: rowwise rows")
        }
        // Each distinct activation type once (a mixed-type model may need two or three).
        var types: [GGMLType] = []
        var offsets: [Int] = []
        var bytes = 0
        for p in products {
            let actType = activationType(for: p.weights.type)
            guard actType != .f32, !types.contains(actType) else { continue }
            types.append(actType)
            offsets.append(bytes)
            bytes += (columns / actType.blockElements * actType.blockBytes + 63) & ~63
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        defer { buffer.deallocate() }
        for (i, type) in types.enumerated() {
            tk_quantize(type.rawValue, input, buffer + offsets[i], Int64(columns))
        }
        let activations: [UnsafeRawPointer] = products.map { p in
            let actType = activationType(for: p.weights.type)
            guard let i = types.firstIndex(of: actType) else { return UnsafeRawPointer(input) }
            return UnsafeRawPointer(buffer + offsets[i])
        }

        @inline(__always)
        func run(_ k: Int, _ r0: Int, _ count: Int) {
            let p = products[k]
            let w = p.weights
            tk_gemm_limited(
                simdLimit.rawValue,
                w.type.rawValue,
                Int64(columns),
                w.base + r0 * w.rowBytes,
                w.rowBytes,
                Int64(count),
                activations[k],
                0,
                1,
                p.output + r0,
                Int64(w.rows)
            )
            if let bias = p.bias { VectorMath.add(p.output + r0, bias + r0, count) }
        }

        if let rowwise {
            let rows = first.weights.rows
            let pieces = rowPieces(rows: rows, rowBytes: products.reduce(0) { $0 + $1.weights.rowBytes })
            let tile = { (index: Int) in
                let (r0, count) = pieces[index]
                for k in products.indices { run(k, r0, count) }
                rowwise(r0, count)
            }
            if let pool { pool.parallelFor(count: pieces.count, tile) } else { for i in pieces.indices { tile(i) } }
        } else {
            // Pieces of all products one after another: (product, first row, rows).
            var tiles: [(Int, Int, Int)] = []
            for (k, p) in products.enumerated() {
                for (r0, count) in rowPieces(rows: p.weights.rows, rowBytes: p.weights.rowBytes) {
                    tiles.append((k, r0, count))
                }
            }
            let tile = { (index: Int) in
                let (k, r0, count) = tiles[index]
                run(k, r0, count)
            }
            if let pool { pool.parallelFor(count: tiles.count, tile) } else { for i in tiles.indices { tile(i) } }
        }
    }

    /// Row ranges of one decode product, each a multiple of 8 rows but the last: about 64 KiB of weights each (256
    /// KiB for matrices over 8 MiB, such as the output head, where a thousand hand-offs would add up), and the last
    /// quarter-size, so a thread does not wait long for the other's final piece.
    static func rowPieces(rows: Int, rowBytes: Int) -> [(Int, Int)] {
        guard rows > 0 else { return [] }
        var step = rowChunk(rowBytes: rowBytes, rows: rows)
        if rows * rowBytes > 8 << 20 { step = min(4 * step, (rows + 7) & ~7) }
        let small = max(8, (step / 4) & ~7)
        var pieces: [(Int, Int)] = []
        var r0 = 0
        while r0 < rows {
            let left = rows - r0
            // The last two full pieces' worth goes in small ones.
            let size = left > 2 * step ? step : min(small, left)
            pieces.append((r0, size))
            r0 += size
        }
        return pieces
    }
}
