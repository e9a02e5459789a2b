import Testing

@testable import LocalModels

struct MatrixKernelsProductTests {
    let fixture = QuantFixture.shared

    /// The fixture matrix repeated to `rows` rows, and its activations repeated to `tokens` tokens, so tiling,
    /// row tails and threading are exercised; result (t, r) must equal the fixture's (t % tokens, r % rows).
    /// The fixture matrix repeated to `rows` rows, and its activations repeated to `tokens` tokens, so tiling,
    /// row tails and threading are exercised; result (t, r) must equal the fixture's (t % tokens, r % rows).
    /// With `columns`, only the first that many columns of each row (whole blocks) are used.
    private func product(
        _ type: GGMLType,
        rows: Int,
        tokens: Int,
        threads: Int,
        simdLimit: MatrixKernels.SIMDLevel = .avx512,
        vector: Bool = false,
        columns: Int? = nil
    ) -> [Float] {
        let columns = columns ?? fixture.columns
        let base = fixture.weights(type)
        let fixtureRowBytes = type.byteCount(elements: fixture.columns)!
        let rowBytes = type.byteCount(elements: columns)!
        var blocks = [UInt8]()
        for r in 0..<rows {
            let start = r % fixture.rows * fixtureRowBytes
            blocks += base[start..<(start + rowBytes)]
        }
        var input = [Float]()
        for t in 0..<tokens {
            let source = t % fixture.tokens * fixture.columns
            input += fixture.activations[source..<(source + columns)]
        }
        let pool = threads > 1 ? EngineThreadPool(threads: threads) : nil
        var out = [Float](repeating: .nan, count: rows * tokens)
        blocks.withUnsafeBytes { raw in
            let w = WeightMatrix(type: type, rows: rows, columns: columns, base: raw.baseAddress!)
            input.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { y in
                    if vector {
                        for t in 0..<tokens {
                            MatrixKernels.matVec(
                                w,
                                input: x.baseAddress! + t * columns,
                                output: y.baseAddress! + t * rows,
                                pool: pool
                            )
                        }
                    } else {
                        MatrixKernels.multiply(
                            w,
                            input: x.baseAddress!,
                            tokens: tokens,
                            output: y.baseAddress!,
                            pool: pool,
                            simdLimit: simdLimit
                        )
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: QuantFixture.shared.weightTypes)
    func matchesFloat64ReferenceAndLlamaCpp(type: GGMLType) {
        let (reference, scales) = fixture.reference(type)
        let ggml = fixture.ggmlDots(type)
        let got = product(type, rows: fixture.rows, tokens: fixture.tokens, threads: 1)
        for i in got.indices {
            let tolerance = 1e-5 * scales[i] + 1e-30
            #expect(abs(Double(got[i]) - reference[i]) <= tolerance, "\(type) #\(i): \(got[i]) vs \(reference[i])")
            #expect(abs(Double(got[i]) - Double(ggml[i])) <= tolerance, "\(type) #\(i): \(got[i]) vs ggml \(ggml[i])")
        }
    }

    @Test(arguments: QuantFixture.shared.weightTypes)
    func tilingThreadsAndVectorPathsGiveTheSameBits(type: GGMLType) {
        let rows = 8 * 13 + 5
        let tokens = 70
        let single = product(type, rows: fixture.rows, tokens: fixture.tokens, threads: 1)
        let tiled = product(type, rows: rows, tokens: tokens, threads: 1)
        let threaded = product(type, rows: rows, tokens: tokens, threads: 2)
        let vector = product(type, rows: rows, tokens: 6, threads: 2, vector: true)
        for t in 0..<tokens {
            for r in 0..<rows {
                let expected = single[t % fixture.tokens * fixture.rows + r % fixture.rows].bitPattern
                #expect(tiled[t * rows + r].bitPattern == expected, "\(type) tiled (\(t), \(r))")
                #expect(threaded[t * rows + r].bitPattern == expected, "\(type) threaded (\(t), \(r))")
                if t < 6 {
                    #expect(vector[t * rows + r].bitPattern == expected, "\(type) matVec (\(t), \(r))")
                }
            }
        }
    }

    @Test(arguments: QuantFixture.shared.weightTypes)
    func everySIMDLevelGivesTheScalarBits(type: GGMLType) {
        let rows = 8 * 3 + 3
        let tokens = 11
        let scalar = product(type, rows: rows, tokens: tokens, threads: 1, simdLimit: .scalar)
        for level in MatrixKernels.SIMDLevel.allCases where level > .scalar {
            let simd = product(type, rows: rows, tokens: tokens, threads: 1, simdLimit: level)
            let mismatches = zip(simd, scalar).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(mismatches == 0, "\(type) SIMD level \(level): \(mismatches) of \(scalar.count) differ")
        }
    }

    @Test(arguments: QuantFixture.shared.weightTypes)
    func shortRowsAndColumnTailsGiveTheScalarBits(type: GGMLType) {
        // One or three blocks per row, or 77 columns for the float types (not a multiple of their 16 lanes).
        let columns = type.blockElements == 1 ? 77 : type.blockElements == 32 ? 96 : 256
        let scalar = product(type, rows: 13, tokens: 6, threads: 1, simdLimit: .scalar, columns: columns)
        let simd = product(type, rows: 13, tokens: 6, threads: 2, columns: columns)
        let vector = product(type, rows: 13, tokens: 6, threads: 1, vector: true, columns: columns)
        let expected = scalar.map { $0.bitPattern }
        #expect(simd.map { $0.bitPattern } == expected, "\(type)")
        #expect(vector.map { $0.bitPattern } == expected, "\(type)")
        #expect(scalar.allSatisfy { $0.isFinite })
    }

    /// matVecs (several products of one input in one pool run, plain or chunk by chunk with a row-wise step)
    /// gives the bits of one matVec per product followed by its bias, at every SIMD level and thread count.
    @Test(arguments: QuantFixture.shared.weightTypes)
    func groupedProductsGiveTheBitsOfSeparateOnes(type: GGMLType) {
        let columns = fixture.columns
        let rowBytes = type.byteCount(elements: columns)!
        let base = fixture.weights(type)
        func matrix(rows: Int, shift: Int) -> [UInt8] {
            (0..<rows).flatMap { r in
                let start = (r + shift) % fixture.rows * rowBytes
                return Array(base[start..<(start + rowBytes)])
            }
        }
        let shapes = [8 * 13 + 5, 8 * 2 + 3, 8 * 2 + 3]
        let blocks = shapes.enumerated().map { matrix(rows: $0.element, shift: $0.offset) }
        let input = Array(fixture.activations[columns..<(2 * columns)])
        let biases = shapes.map { rows in (0..<rows).map { Float($0 % 7) * 0.25 - 0.5 } }
        let paired = blocks[1].map { $0 }  // a second matrix with the rows of the first small one, for rowwise

        func run(grouped: Bool, rowwise: Bool, threads: Int, simd: MatrixKernels.SIMDLevel) -> [[Float]] {
            let pool = threads > 1 ? EngineThreadPool(threads: threads, idleSpinNanoseconds: 0) : nil
            let all = rowwise ? [blocks[1], paired] : blocks
            var outs = all.map { [Float](repeating: .nan, count: $0.count / rowBytes) }
            let storage = all.map { bytes -> UnsafeMutableRawPointer in
                let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
                bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                return p
            }
            defer { storage.forEach { $0.deallocate() } }
            let outPointers = outs.indices.map { UnsafeMutablePointer<Float>.allocate(capacity: outs[$0].count) }
            defer { outPointers.forEach { $0.deallocate() } }
            let biasPointers = outs.indices.map { k -> UnsafeMutablePointer<Float> in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: outs[k].count)
                p.initialize(from: biases[rowwise ? 1 : k], count: outs[k].count)
                return p
            }
            defer { biasPointers.forEach { $0.deallocate() } }
            let products = outs.indices.map { k in
                MatrixKernels.VectorProduct(
                    weights: WeightMatrix(type: type, rows: outs[k].count, columns: columns, base: storage[k]),
                    output: outPointers[k],
                    bias: UnsafePointer(biasPointers[k])
                )
            }
            input.withUnsafeBufferPointer { x in
                if grouped {
                    let a = outPointers[0], b = outPointers.last!
                    MatrixKernels.matVecs(
                        products,
                        input: x.baseAddress!,
                        pool: pool,
                        simdLimit: simd,
                        rowwise: rowwise ? { r0, n in VectorMath.swiGLU(a + r0, b + r0, n) } : nil
                    )
                } else {
                    for p in products {
                        MatrixKernels.multiply(
                            p.weights, input: x.baseAddress!, tokens: 1, output: p.output, pool: nil, simdLimit: .scalar)
                        VectorMath.add(p.output, p.bias!, p.weights.rows)
                    }
                    if rowwise { VectorMath.swiGLU(outPointers[0], outPointers[1], products[0].weights.rows) }
                }
            }
            for k in outs.indices { outs[k] = Array(UnsafeBufferPointer(start: outPointers[k], count: outs[k].count)) }
            return outs
        }

        for rowwise in [false, true] {
            let expected = run(grouped: false, rowwise: rowwise, threads: 1, simd: .scalar).map { $0.map(\.bitPattern) }
            for simd in MatrixKernels.SIMDLevel.allCases {
                for threads in [1, 2] {
                    let got = run(grouped: true, rowwise: rowwise, threads: threads, simd: simd).map { $0.map(\.bitPattern) }
                    #expect(got == expected, "\(type) rowwise \(rowwise) \(simd) \(threads) threads")
                }
            }
        }
    }

    @Test func emptyShapesWriteNothing() {
        var out: [Float] = [42]
        let blocks = fixture.weights(.q8_0)
        blocks.withUnsafeBytes { raw in
            let w = WeightMatrix(type: .q8_0, rows: 0, columns: fixture.columns, base: raw.baseAddress!)
            fixture.activations.withUnsafeBufferPointer { x in
                MatrixKernels.matVec(w, input: x.baseAddress!, output: &out, pool: nil)
                let w2 = WeightMatrix(type: .q8_0, rows: 1, columns: fixture.columns, base: raw.baseAddress!)
                MatrixKernels.matMul(w2, input: x.baseAddress!, tokens: 0, output: &out, pool: nil)
            }
        }
        #expect(out == [42])
    }
}
