#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The element-wise pieces of the forward pass, on `SIMD8<Float>` with a scalar tail so that
/// any length works. Plain multiply-add, not `addingProduct`: without FMA in the target the
/// latter becomes a library call per lane.
enum VectorMath {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD8<Float>()
        var acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            acc0 += load(a + i) * load(b + i)
            acc1 += load(a + i + 8) * load(b + i + 8)
            i += 16
        }
        if i + 8 <= n {
            acc0 += load(a + i) * load(b + i)
            i += 8
        }
        var sum = (acc0 + acc1).sum()
        while i < n {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// `y += a * x`.
    @inline(__always)
    static func addScaled(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ a: Float, _ n: Int) {
        let av = SIMD8<Float>(repeating: a)
        var i = 0
        while i + 8 <= n {
            store(load(y + i) + av * load(x + i), y + i)
            i += 8
        }
        while i < n {
            y[i] += a * x[i]
            i += 1
        }
    }

    /// `y += x`.
    static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            store(load(y + i) + load(x + i), y + i)
            i += 8
        }
        while i < n {
            y[i] += x[i]
            i += 1
        }
    }

    /// `y = x / sqrt(mean(x^2) + epsilon) * weight`, as ggml computes it: float squares summed in double,
    /// the mean rounded to float, then `(x * scale) * weight`. The squares are few next to a matrix product,
    /// and matching ggml bit for bit here keeps the Q8 rounding of the next product's input on ggml's side.
    static func rmsNorm(
        _ x: UnsafePointer<Float>,
        weight: UnsafePointer<Float>,
        epsilon: Float,
        _ y: UnsafeMutablePointer<Float>,
        _ n: Int
    ) {
        var squares: Double = 0
        for i in 0..<n { squares += Double(x[i] * x[i]) }
        let mean = Float(squares / Double(n))
        let scale = 1 / (mean + epsilon).squareRoot()
        let sv = SIMD8<Float>(repeating: scale)
        var i = 0
        while i + 8 <= n {
            store(load(x + i) * sv * load(weight + i), y + i)
            i += 8
        }
        while i < n {
            y[i] = x[i] * scale * weight[i]
            i += 1
        }
    }

    /// In place: `x = softmax(x)`, subtracting the maximum first so that no exponent overflows.
    static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var maximum = -Float.infinity
        for i in 0..<n { maximum = max(maximum, x[i]) }
        var sum: Double = 0  // ggml sums the exponentials in double too
        for i in 0..<n {
            let e = expf(x[i] - maximum)
            x[i] = e
            sum += Double(e)
        }
        let inverse = Float(1 / sum)
        var i = 0
        let iv = SIMD8<Float>(repeating: inverse)
        while i + 8 <= n {
            store(load(x + i) * iv, x + i)
            i += 8
        }
        while i < n {
            x[i] *= inverse
            i += 1
        }
    }

    /// In place: `gate = silu(gate) * up`, with silu(g) = g / (1 + e^-g) (SwiGLU).
    static func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }
}
