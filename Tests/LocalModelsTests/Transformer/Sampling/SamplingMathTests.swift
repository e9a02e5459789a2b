import Foundation
import Testing

@testable import LocalModels

struct SamplingMathTests {
    @Test func expIsWithinOneUlpOfTheCLibrary() {
        var worst = 0
        var x: Float = -87.3
        while x < 0 {
            let ours = SamplingMath.exp(x)
            let libm = Foundation.exp(x)
            worst = max(worst, abs(Int(ours.bitPattern) - Int(libm.bitPattern)))
            x += 0.000_731  // about 120k points over the whole range
        }
        #expect(worst <= 2)  // 1 ulp from the true value here, and another for a platform libm
        #expect(SamplingMath.exp(0) == 1)
        #expect(SamplingMath.exp(-.infinity) == 0 && SamplingMath.exp(.nan) == 0 && SamplingMath.exp(-100) == 0)
    }

    @Test func theVectorLoopsGiveTheScalarBits() {
        var logits = SamplingTestSupport.randomLogits(count: 1_003, scale: 10, seed: 8)
        logits[5] = .nan
        logits[6] = -.infinity
        logits[7] = 45  // the maximum sits outside the vectorised head
        logits[1_001] = 50
        let top = logits.withUnsafeBufferPointer { SamplingMath.maximum($0) }
        #expect(top == 50)
        var output = [Float](repeating: -1, count: logits.count)
        let total = logits.withUnsafeBufferPointer { values in
            output.withUnsafeMutableBufferPointer {
                SamplingMath.exponentials(of: values, into: $0, shift: top, scale: 0.5, floor: top - 30)
            }
        }
        var expectedTotal = 0.0
        for i in logits.indices {
            let expected = logits[i] >= top - 30 ? SamplingMath.exp((logits[i] - top) * 0.5) : 0
            #expect(output[i] == expected, "index \(i)")
            expectedTotal += Double(expected)
        }
        #expect(total == expectedTotal)
        let empty = [Float]()
        #expect(empty.withUnsafeBufferPointer { SamplingMath.maximum($0) } == -.infinity)
    }
}
