#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotary position embedding as llama.cpp computes it (`ggml_rope_cache_init` without YaRN):
/// the angle of pair `i` at position `p` is `scale * p * base^(-2i/n) / factor[i]`, with the
/// power built by repeated multiplication in `Float` exactly as ggml does, so angles agree to
/// the last bit rather than to a rounding of `pow`.
struct RotaryEmbedding: Sendable {
    let dimensions: Int
    let style: TransformerConfiguration.RotaryStyle
    let frequencyScale: Float
    let magnitude: Float
    let thetaScale: Float
    let factors: [Float]?

    init(configuration c: TransformerConfiguration, factors: [Float]?) {
        dimensions = c.ropeDimensionCount
        style = c.rotaryStyle
        frequencyScale = c.ropeFrequencyScale
        magnitude = c.ropeAttentionFactor
        thetaScale = powf(c.ropeFrequencyBase, -2 / Float(c.ropeDimensionCount))
        self.factors = factors
    }

    /// Writes `cos, sin` of each pair's angle at `position`: `dimensions` floats.
    func angles(position: Int, into table: UnsafeMutablePointer<Float>) {
        var theta = Float(position)
        for pair in 0..<(dimensions / 2) {
            let divided = factors.map { theta / $0[pair] } ?? theta
            let angle = frequencyScale * divided
            table[2 * pair] = cosf(angle) * magnitude
            table[2 * pair + 1] = sinf(angle) * magnitude
            theta *= thetaScale
        }
    }

    /// Rotates the first `dimensions` values of each of `heads` heads of `headDimension` in place.
    func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, headDimension: Int, table: UnsafePointer<Float>) {
        let half = dimensions / 2
        let stride = style == .adjacentPairs ? 2 : 1
        let partner = style == .adjacentPairs ? 1 : half
        for h in 0..<heads {
            let head = x + h * headDimension
            for pair in 0..<half {
                let c = table[2 * pair]
                let s = table[2 * pair + 1]
                let i = pair * stride
                let x0 = head[i]
                let x1 = head[i + partner]
                head[i] = x0 * c - x1 * s
                head[i + partner] = x0 * s + x1 * c
            }
        }
    }
}
