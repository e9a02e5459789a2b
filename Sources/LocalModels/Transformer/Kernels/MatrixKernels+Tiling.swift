import CTransformerKernels

extension MatrixKernels {
    /// Rows per work item of a matrix-vector product: about 64 KiB of weights, a multiple of 8 rows (the kernels'
    /// row group), so the pool has many small pieces to balance and each piece streams long enough to amortise
    /// taking it.
    static func rowChunk(rowBytes: Int, rows: Int) -> Int {
        let target = max(8, (64 * 1024 / max(rowBytes, 1)) & ~7)
        return min(target, (rows + 7) & ~7)
    }

    /// Tokens per work item of a matrix-matrix product: enough to reuse each weight tile many times, few enough that
    /// the quantised activations of the tile stay in L2 (~512 KiB).
    static func tokenChunk(activationRowBytes: Int, tokens: Int) -> Int {
        let target = max(4, min(64, (512 * 1024 / max(activationRowBytes, 1)) & ~3))
        return min(target, tokens)
    }

    /// The shared body of matVec and matMul; `simdLimit` lets tests pin the SIMD level.
    static func multiply(
        _ w: WeightMatrix,
        input: UnsafePointer<Float>,
        tokens: Int,
        output: UnsafeMutablePointer<Float>,
        pool: EngineThreadPool?,
        simdLimit: SIMDLevel
    ) {
        precondition(isSupported(w.type), "MatrixKernels: unsupported weight type \(w.type)")
        precondition(tokens >= 0, "MatrixKernels: negative token count")
        guard w.rows > 0, tokens > 0 else { return }
        let actType = activationType(for: w.type)
        let actRowBytes = w.columns / actType.blockElements * actType.blockBytes
        var scratch: UnsafeMutableRawPointer?
        defer { scratch?.deallocate() }
        let activations: UnsafeRawPointer
        if actType == .f32 {
            activations = UnsafeRawPointer(input)
        } else {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: actRowBytes * tokens, alignment: 64)
            scratch = buffer
            let columns = w.columns
            let quantizeRow = { (t: Int) in
                tk_quantize(actType.rawValue, input + t * columns, buffer + t * actRowBytes, Int64(columns))
            }
            if let pool, tokens >= 8 {
                pool.parallelFor(count: tokens, quantizeRow)
            } else {
                for t in 0..<tokens { quantizeRow(t) }
            }
            activations = UnsafeRawPointer(buffer)
        }
        let rowBytes = w.rowBytes
        let rowStep = tokens == 1 ? rowChunk(rowBytes: rowBytes, rows: w.rows) : min(64, (w.rows + 7) & ~7)
        let tokenStep = tokenChunk(activationRowBytes: actRowBytes, tokens: tokens)
        let rowTiles = (w.rows + rowStep - 1) / rowStep
        let tokenTiles = (tokens + tokenStep - 1) / tokenStep
        let rows = w.rows
        let type = w.type.rawValue
        let columns = Int64(w.columns)
        let base = w.base
        let tile = { (index: Int) in
            let r0 = (index % rowTiles) * rowStep
            let t0 = (index / rowTiles) * tokenStep
            tk_gemm_limited(
                simdLimit.rawValue,
                type,
                columns,
                base + r0 * rowBytes,
                rowBytes,
                Int64(min(rowStep, rows - r0)),
                activations + t0 * actRowBytes,
                actRowBytes,
                Int64(min(tokenStep, tokens - t0)),
                output + t0 * rows + r0,
                Int64(rows)
            )
        }
        if let pool {
            pool.parallelFor(count: rowTiles * tokenTiles, tile)
        } else {
            for index in 0..<(rowTiles * tokenTiles) { tile(index) }
        }
    }
}
