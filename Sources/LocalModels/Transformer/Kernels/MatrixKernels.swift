import CTransformerKernels

/// Matrix-vector and matrix-matrix products with quantised weights, computed as llama.cpp's CPU backend does:
/// the activations are first converted to the weight type's "vec dot type" (Q8_0, Q8_1, Q8_K, F16, BF16, F32),
/// each block is summed in integers and the blocks in float. The SIMD variant is picked at run time (AVX-512 VNNI,
/// AVX2, or portable C) and all of them give the same bits.
public enum MatrixKernels {
    /// output[r] = dot(row r of w, input) for r in 0..<w.rows; input has w.columns floats.
    public static func matVec(
        _ w: WeightMatrix,
        input: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>,
        pool: EngineThreadPool?
    ) {
        multiply(w, input: input, tokens: 1, output: output, pool: pool, simdLimit: .avx512)
    }

    /// output[t * w.rows + r] = dot(row r of w, input[t * w.columns ..< (t+1) * w.columns]) for t in 0..<tokens.
    /// Prefill: each weight tile is read once per tile of tokens, and the input rows are quantised once.
    public static func matMul(
        _ w: WeightMatrix,
        input: UnsafePointer<Float>,
        tokens: Int,
        output: UnsafeMutablePointer<Float>,
        pool: EngineThreadPool?
    ) {
        multiply(w, input: input, tokens: tokens, output: output, pool: pool, simdLimit: .avx512)
    }

    /// Dequantises `count` elements (a whole number of blocks) starting at `source` (a block boundary).
    public static func dequantize(
        _ type: GGMLType,
        from source: UnsafeRawPointer,
        to destination: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        precondition(isSupported(type) || type == .q8_1 || type == .q8_K, "MatrixKernels.dequantize: \(type)")
        precondition(count % type.blockElements == 0, "MatrixKernels.dequantize: \(count) is not whole \(type) blocks")
        tk_dequantize(type.rawValue, source, destination, Int64(count))
    }

    /// Types matVec/matMul/dequantize accept.
    public static func isSupported(_ type: GGMLType) -> Bool {
        tk_is_weight_type(type.rawValue) != 0
    }
}
