import CTransformerKernels

extension MatrixKernels {
    /// The type activations are converted to before a dot product with weights of `type` (ggml's vec_dot_type).
    static func activationType(for type: GGMLType) -> GGMLType {
        GGMLType(rawValue: tk_vec_dot_type(type.rawValue)) ?? .f32
    }

    /// Converts `count` floats (whole blocks) to an activation type (F32, F16, BF16, Q8_0, Q8_1, Q8_K) exactly as
    /// ggml's CPU backend does.
    /// `simdLimit` lets tests pin the SIMD level (every level gives the same bytes).
    static func quantizeActivations(
        _ type: GGMLType,
        from source: UnsafePointer<Float>,
        to destination: UnsafeMutableRawPointer,
        count: Int,
        simdLimit: SIMDLevel = .avx512
    ) {
        precondition([.f32, .f16, .bf16, .q8_0, .q8_1, .q8_K].contains(type), "not an activation type: \(type)")
        precondition(count % type.blockElements == 0, "\(count) is not whole \(type) blocks")
        tk_quantize_limited(simdLimit.rawValue, type.rawValue, source, destination, Int64(count))
    }
}
