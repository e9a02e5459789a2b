import CTransformerKernels
import Testing

@testable import LocalModels

/// The C decode-attention loops give the bits of the Swift ones (VectorMath.dot, VectorMath.addScaled over keys and
/// values widened to Float first), for F16 and F32 blocks, several heads at once, and head sizes with 8-element and
/// single-element tails.
struct AttentionKernelTests {
    @Test(arguments: [64, 128, 80, 72, 13])
    func cAttentionLoopsGiveTheSwiftBits(headDimension hd: Int) throws {
        try #require(MatrixKernels.SIMDLevel.detected >= .avx2, "no AVX2 here: the engine uses the Swift loops")
        var rng = SystemRandomNumberGenerator()
        let heads = 3, slots = 11, stride = 16
        let queries = (0..<(heads * hd)).map { _ in Float.random(in: -2...2, using: &rng) }
        var keys = (0..<(slots * hd)).map { _ in Float.random(in: -3...3, using: &rng) }
        keys[5] = -0.0
        let values = (0..<(slots * hd)).map { _ in Float.random(in: -3...3, using: &rng) }
        let scale = 1 / Float(hd).squareRoot()
        for f16 in [false, true] {
            let k = f16 ? keys.map { Float(Float16($0)) } : keys
            let v = f16 ? values.map { Float(Float16($0)) } : values
            let kHalf = keys.map { Float16($0).bitPattern }
            let vHalf = values.map { Float16($0).bitPattern }

            var expectedScores = [Float](repeating: 0, count: heads * stride)
            var expectedOut = [Float](repeating: 0.5, count: heads * hd)
            queries.withUnsafeBufferPointer { q in
                k.withUnsafeBufferPointer { kp in
                    for h in 0..<heads {
                        for j in 0..<slots {
                            expectedScores[h * stride + j] =
                                VectorMath.dot(q.baseAddress! + h * hd, kp.baseAddress! + j * hd, hd) * scale
                        }
                    }
                }
            }
            expectedOut.withUnsafeMutableBufferPointer { out in
                v.withUnsafeBufferPointer { vp in
                    for h in 0..<heads {
                        for j in 0..<slots {
                            VectorMath.addScaled(
                                out.baseAddress! + h * hd, vp.baseAddress! + j * hd, expectedScores[h * stride + j], hd)
                        }
                    }
                }
            }

            var scores = [Float](repeating: .nan, count: heads * stride)
            var out = [Float](repeating: 0.5, count: heads * hd)
            func withBlock<R>(_ floats: [Float], _ halves: [UInt16], _ body: (UnsafeRawPointer) -> R) -> R {
                f16
                    ? halves.withUnsafeBytes { body($0.baseAddress!) }
                    : floats.withUnsafeBytes { body($0.baseAddress!) }
            }
            let flag: Int32 = f16 ? 1 : 0
            withBlock(keys, kHalf) { kp in
                #expect(
                    tk_attention_scores(
                        queries, Int64(heads), Int64(hd), kp, flag, Int64(slots), Int64(hd), scale, &scores,
                        Int64(stride)) == 1)
            }
            withBlock(values, vHalf) { vp in
                #expect(
                    tk_attention_accumulate(
                        &out, Int64(heads), Int64(hd), vp, flag, Int64(slots), Int64(hd), expectedScores,
                        Int64(stride)) == 1)
            }
            for h in 0..<heads {
                for j in 0..<slots {
                    #expect(scores[h * stride + j].bitPattern == expectedScores[h * stride + j].bitPattern,
                            "f16 \(f16) head \(h) key \(j)")
                }
            }
            #expect(out.map(\.bitPattern) == expectedOut.map(\.bitPattern), "f16 \(f16) values")
        }
    }
}
