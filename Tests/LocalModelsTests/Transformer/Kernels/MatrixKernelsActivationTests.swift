import Testing

@testable import LocalModels

struct MatrixKernelsActivationTests {
    let fixture = QuantFixture.shared

    static let activationTypes: [GGMLType] = [.f16, .bf16, .q8_0, .q8_1, .q8_K]

    private func quantize(_ type: GGMLType, _ x: [Float]) -> [UInt8] {
        let bytes = type.byteCount(elements: x.count)!
        var out = [UInt8](repeating: 0xAA, count: bytes)
        x.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBytes { destination in
                MatrixKernels.quantizeActivations(
                    type,
                    from: source.baseAddress!,
                    to: destination.baseAddress!,
                    count: x.count
                )
            }
        }
        return out
    }

    @Test(arguments: activationTypes)
    func quantizersEqualLlamaCppBytes(type: GGMLType) {
        let got = quantize(type, fixture.activations)
        let expected = fixture.ggmlActivationBytes(type)
        #expect(got.count == expected.count)
        let mismatches = zip(got, expected).filter { $0 != $1 }.count
        #expect(mismatches == 0, "\(type): \(mismatches) bytes differ from ggml's from_float")
    }

    @Test(arguments: activationTypes)
    func quantizedActivationsRoundTripWithinHalfAStep(type: GGMLType) {
        let x = fixture.activations
        let bytes = quantize(type, x)
        var back = [Float](repeating: .nan, count: x.count)
        bytes.withUnsafeBytes { source in
            back.withUnsafeMutableBufferPointer { destination in
                MatrixKernels.dequantize(type, from: source.baseAddress!, to: destination.baseAddress!, count: x.count)
            }
        }
        let block = type.blockElements == 1 ? 32 : type.blockElements
        for start in stride(from: 0, to: x.count, by: block) {
            let values = x[start..<(start + block)]
            let amax = values.map(abs).max()!
            for i in start..<(start + block) {
                let error = abs(back[i] - x[i])
                let bound: Float
                switch type {
                case .f16: bound = abs(x[i]) * 0x1p-11 + 0x1p-25
                case .bf16: bound = abs(x[i]) * 0x1p-8
                default: bound = amax / 127 * 0.5 * 1.002 + amax * 0x1p-10  // half a step, f16-rounded scale
                }
                #expect(error <= bound, "\(type) element \(i): \(x[i]) came back as \(back[i])")
            }
        }
    }

    /// Every SIMD level quantises to the scalar bytes, on the fixture and on awkward values: zeros, signed
    /// zeros, ties, tiny and huge magnitudes, infinities and NaNs (with payloads) inside a block.
    @Test(arguments: activationTypes)
    func everySIMDLevelGivesTheScalarBytes(type: GGMLType) {
        var rng = SystemRandomNumberGenerator()
        var x = fixture.activations
        let specials: [Float] = [
            0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 127, -127, 1e-30, -1e-38, 3e38, -3e38, .infinity, -.infinity,
            .nan, Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFFA0_0001), .leastNonzeroMagnitude,
        ]
        for block in 0..<64 {
            for j in 0..<256 {
                let value: Float
                switch block % 4 {
                case 0: value = Float.random(in: -1...1, using: &rng) * Float(block + 1)
                case 1: value = Float(Int.random(in: -300...300, using: &rng)) * 0.5
                case 2: value = j % 31 == 0 ? specials[(block + j) % specials.count] : Float.random(in: -4...4, using: &rng)
                default: value = block % 8 == 3 ? 0 : Float.random(in: -1e-20...1e-20, using: &rng)
                }
                x.append(value)
            }
        }
        let count = x.count / 256 * 256
        let bytes = type.byteCount(elements: count)!
        var levels: [[UInt8]] = []
        for level in MatrixKernels.SIMDLevel.allCases {
            var out = [UInt8](repeating: 0xAA, count: bytes)
            x.withUnsafeBufferPointer { source in
                out.withUnsafeMutableBytes { destination in
                    MatrixKernels.quantizeActivations(
                        type, from: source.baseAddress!, to: destination.baseAddress!, count: count, simdLimit: level)
                }
            }
            levels.append(out)
        }
        for (level, out) in zip(MatrixKernels.SIMDLevel.allCases, levels) {
            #expect(out == levels[0], "\(type) at \(level)")
        }
    }

    @Test func halvesWidenExactlyForEveryBitPattern() {
        let bits = (0...UInt16.max).map { $0 }
        var floats = [Float](repeating: 0, count: bits.count)
        bits.withUnsafeBytes { source in
            floats.withUnsafeMutableBufferPointer { destination in
                MatrixKernels.dequantize(
                    .f16,
                    from: source.baseAddress!,
                    to: destination.baseAddress!,
                    count: bits.count
                )
            }
        }
        for (pattern, got) in zip(bits, floats) {
            let expected = Float(Float16(bitPattern: pattern))
            #expect(expected.isNaN ? got.isNaN : got.bitPattern == expected.bitPattern, "f16 \(pattern)")
        }
    }

    @Test func floatsNarrowToHalvesRoundingToNearestEven() {
        // Every half, the midpoints between neighbours (ties), values just off them, and the overflow edge.
        var x = [Float]()
        for pattern in stride(from: UInt16(0), to: 0x7C00, by: 1) {
            let value = Float(Float16(bitPattern: pattern))
            let next = Float(Float16(bitPattern: pattern + 1))
            let middle = (value + next) / 2
            x += [value, -value, middle, -middle, middle.nextUp, middle.nextDown]
        }
        x += [65504, 65519.99, 65520, 1e9, -1e9, .infinity, -.infinity, 1e-9, 0x1p-25, Float(0x1p-25).nextUp]
        while x.count % 32 != 0 { x.append(0) }
        let bytes = quantize(.f16, x)
        for (i, value) in x.enumerated() {
            let got = UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8
            #expect(got == Float16(value).bitPattern, "\(value)")
        }
    }

    @Test func q8KTakesTheSignOfTheLargestMagnitude() {
        var x = [Float](repeating: 0.25, count: 256)
        x[7] = -2
        let bytes = quantize(.q8_K, x)
        let d = bytes.withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
        #expect(d == 1 / (-127 / Float(-2)))
        #expect(Int8(bitPattern: bytes[4 + 7]) == -127)
        let bsum0 = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 260, as: Int16.self) }
        let q = (0..<16).map { Int(Int8(bitPattern: bytes[4 + $0])) }
        #expect(Int(bsum0) == q.reduce(0, +))
    }

    @Test func activationTypesFollowGGML() {
        let pairs: [(GGMLType, GGMLType)] = [
            (.f32, .f32), (.f16, .f16), (.bf16, .bf16), (.q4_0, .q8_0), (.q5_0, .q8_0), (.q8_0, .q8_0),
            (.q4_1, .q8_1), (.q5_1, .q8_1), (.q2_K, .q8_K), (.q3_K, .q8_K), (.q4_K, .q8_K), (.q5_K, .q8_K),
            (.q6_K, .q8_K),
        ]
        for (weight, activation) in pairs {
            #expect(MatrixKernels.activationType(for: weight) == activation, "\(weight)")
        }
    }
}
