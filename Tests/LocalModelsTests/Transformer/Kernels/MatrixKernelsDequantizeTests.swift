import Testing

@testable import LocalModels

struct MatrixKernelsDequantizeTests {
    let fixture = QuantFixture.shared

    @Test(arguments: QuantFixture.shared.weightTypes)
    func dequantizeEqualsGGUFPyBitForBit(type: GGMLType) {
        let blocks = fixture.weights(type)
        let expected = fixture.dequantized(type)
        #expect(blocks.count == fixture.rows * type.byteCount(elements: fixture.columns)!)
        var got = [Float](repeating: .nan, count: expected.count)
        blocks.withUnsafeBytes { source in
            got.withUnsafeMutableBufferPointer { destination in
                MatrixKernels.dequantize(
                    type,
                    from: source.baseAddress!,
                    to: destination.baseAddress!,
                    count: expected.count
                )
            }
        }
        let mismatches = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(mismatches == 0, "\(type): \(mismatches) of \(expected.count) elements differ")
    }

    @Test(arguments: QuantFixture.shared.weightTypes)
    func dequantizeFromAMiddleBlock(type: GGMLType) {
        // A row starts at a block boundary: dequantising row 3 alone gives that slice of the whole.
        let blocks = fixture.weights(type)
        let rowBytes = type.byteCount(elements: fixture.columns)!
        let expected = Array(fixture.dequantized(type)[(3 * fixture.columns)..<(4 * fixture.columns)])
        var got = [Float](repeating: .nan, count: fixture.columns)
        blocks.withUnsafeBytes { source in
            got.withUnsafeMutableBufferPointer { destination in
                MatrixKernels.dequantize(
                    type,
                    from: source.baseAddress! + 3 * rowBytes,
                    to: destination.baseAddress!,
                    count: fixture.columns
                )
            }
        }
        #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test func supportedTypes() {
        let expected: Set<GGMLType> = [
            .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
        ]
        #expect(Set(GGMLType.allCases.filter(MatrixKernels.isSupported)) == expected)
    }
}
