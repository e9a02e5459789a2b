import CTransformerKernels

extension MatrixKernels {
    /// The C kernels' SIMD variants. All of them give the same bits, so this only changes speed; tests pin each.
    enum SIMDLevel: Int32, CaseIterable, Comparable, Sendable {
        case scalar = 0
        case avx2 = 1  // AVX2 + FMA + F16C
        case avx512 = 2  // AVX-512 F/BW/VL + VNNI

        static func < (lhs: SIMDLevel, rhs: SIMDLevel) -> Bool { lhs.rawValue < rhs.rawValue }

        /// The best level this CPU and operating system support.
        static let detected = SIMDLevel(rawValue: tk_simd_detected()) ?? .scalar
    }
}
