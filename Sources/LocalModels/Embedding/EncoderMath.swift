#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The element-wise steps of the encoder that the decoder has no use for, on `SIMD8<Float>` with a scalar tail so that
/// any length works; the shared ones (dot, add, addScaled, load, store) are `VectorMath`'s.
enum EncoderMath {
    /// In place: `x = (x - mean) / sqrt(variance + epsilon) * weight + bias`, as ggml's norm computes it (sums in
    /// double, the mean and variance rounded to float).
    static func layerNorm(
        _ x: UnsafeMutablePointer<Float>,
        weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>,
        epsilon: Float,
        _ n: Int
    ) {
        var sum: Double = 0
        for i in 0..<n { sum += Double(x[i]) }
        let mean = Float(sum / Double(n))
        var squares: Double = 0
        for i in 0..<n {
            let v = x[i] - mean
            x[i] = v
            squares += Double(v * v)
        }
        let variance = Float(squares / Double(n))
        let scale = 1 / (variance + epsilon).squareRoot()
        let sv = SIMD8<Float>(repeating: scale)
        var i = 0
        while i + 8 <= n {
            VectorMath.store(VectorMath.load(x + i) * sv * VectorMath.load(weight + i) + VectorMath.load(bias + i), x + i)
            i += 8
        }
        while i < n {
            x[i] = x[i] * scale * weight[i] + bias[i]
            i += 1
        }
    }

    /// In place: `x = softmax(x)`.
    static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var maximum = -Float.infinity
        for i in 0..<n { maximum = max(maximum, x[i]) }
        var sum: Float = 0
        for i in 0..<n {
            let e = expf(x[i] - maximum)
            x[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0..<n { x[i] *= inverse }
    }

    /// In place, with the bias first: `x = gelu(x + bias)`, the exact (erf) GELU of Hugging Face's "gelu", with
    /// erf from a rational approximation on [-4, 4] (Eigen's and XLA's float erf: within 5e-7 of erf, beyond 4 it
    /// is 1 in float anyway), eight lanes at a time.
    static func biasGELU(_ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, _ n: Int) {
        if let bias { VectorMath.add(x, bias, n) }
        var i = 0
        while i + 8 <= n {
            VectorMath.store(gelu(VectorMath.load(x + i)), x + i)
            i += 8
        }
        while i < n {
            x[i] = gelu(SIMD8<Float>(repeating: x[i]))[0]
            i += 1
        }
    }

    @inline(__always)
    static func gelu(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let half = SIMD8<Float>(repeating: 0.5)
        return half * v * (1 + erf(v * 0.707_106_77))
    }

    @inline(__always)
    static func erf(_ value: SIMD8<Float>) -> SIMD8<Float> {
        let x = value.clamped(lowerBound: SIMD8(repeating: -4), upperBound: SIMD8(repeating: 4))
        let x2 = x * x
        var p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08
        p = x2 * p - 2.10102402082508e-06
        p = x2 * p - 5.69250639462346e-05
        p = x2 * p - 7.34990630326855e-04
        p = x2 * p - 2.95459980854025e-03
        p = x2 * p - 1.60960333262415e-02
        p = x * p
        var q = x2 * -1.45660718464996e-05 - 2.13374055278905e-04
        q = x2 * q - 1.68282697438203e-03
        q = x2 * q - 7.37332916720468e-03
        q = x2 * q - 1.42647390514189e-02
        return p / q
    }

    /// In place: `x /= |x|` (a zero vector stays zero).
    static func normalize(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var squares: Double = 0
        for i in 0..<n { squares += Double(x[i]) * Double(x[i]) }
        let norm = squares.squareRoot()
        guard norm > 0 else { return }
        let inverse = Float(1 / max(norm, 1e-12))
        for i in 0..<n { x[i] *= inverse }
    }
}
