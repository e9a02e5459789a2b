extension BertEncoder {
    /// Buffers of one forward pass, for `tokens` rows.
    struct Activations {
        let tokens: Int
        let hidden: UnsafeMutablePointer<Float>
        /// q, k, v of each token side by side (`3 * width` per row).
        let queryKeyValue: UnsafeMutablePointer<Float>
        let context: UnsafeMutablePointer<Float>
        let projected: UnsafeMutablePointer<Float>
        let feedForward: UnsafeMutablePointer<Float>

        init(tokens: Int, width: Int, feedForward: Int) {
            // Every element is written before it is read.
            func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
                UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            }
            self.tokens = tokens
            hidden = buffer(tokens * width)
            queryKeyValue = buffer(tokens * width * 3)
            context = buffer(tokens * width)
            projected = buffer(tokens * width)
            self.feedForward = buffer(tokens * feedForward)
        }

        func deallocate() {
            for p in [hidden, queryKeyValue, context, projected, feedForward] { p.deallocate() }
        }
    }

    /// One batch through the model: every sequence is non-empty, within the context, of valid tokens.
    func forward(_ sequences: ArraySlice<[Int32]>) -> [[Float]] {
        let c = configuration
        let width = c.embeddingLength
        let ffWidth = c.feedForwardLength
        var starts: [Int] = []
        var total = 0
        for s in sequences {
            starts.append(total)
            total += s.count
        }
        let lengths = sequences.map(\.count)
        let a = Activations(tokens: total, width: width, feedForward: ffWidth)
        defer { a.deallocate() }

        // Token + position + token-type embeddings, then LayerNorm.
        let flat = sequences.flatMap { $0 }
        let positions = sequences.flatMap { 0..<$0.count }
        weights.positions.withUnsafeBufferPointer { table in
            forRows(total, cost: width * 4) { range in
                for t in range {
                    let row = a.hidden + t * width
                    let id = Int(flat[t])
                    MatrixKernels.dequantize(
                        weights.tokens.type, from: weights.tokens.base + id * weights.tokens.rowBytes, to: row,
                        count: width)
                    VectorMath.add(row, table.baseAddress! + positions[t] * width, width)
                    VectorMath.add(row, weights.tokenType, width)
                    EncoderMath.layerNorm(
                        row, weight: weights.embeddingNorm, bias: weights.embeddingNormBias,
                        epsilon: c.layerNormEpsilon, width)
                }
            }
        }

        for layer in weights.layers {
            if let stacked = layer.queryKeyValue {
                project(stacked.matrix, bias: stacked.bias, input: a.hidden, output: a.queryKeyValue, tokens: total)
            } else {
                // Mixed types: three products, each written into its third of the rows.
                for (part, (w, b)) in [(layer.query, layer.queryBias), (layer.key, layer.keyBias), (layer.value, layer.valueBias)]
                    .enumerated()
                {
                    project(w, bias: b, input: a.hidden, output: a.projected, tokens: total)
                    for t in 0..<total {
                        (a.queryKeyValue + t * 3 * width + part * width).update(from: a.projected + t * width, count: width)
                    }
                }
            }
            attend(a, starts: starts, lengths: lengths)
            project(layer.output, bias: layer.outputBias, input: a.context, output: a.projected, tokens: total)
            residualNorm(a, weight: layer.attentionNorm, bias: layer.attentionNormBias)

            MatrixKernels.matMul(layer.up, input: a.hidden, tokens: total, output: a.feedForward, pool: pool)
            withOptionalPointer(layer.upBias) { bias in
                forRows(total, cost: ffWidth * 16) { range in
                    for t in range { EncoderMath.biasGELU(a.feedForward + t * ffWidth, bias: bias, ffWidth) }
                }
            }
            project(layer.down, bias: layer.downBias, input: a.feedForward, output: a.projected, tokens: total)
            residualNorm(a, weight: layer.outputNorm, bias: layer.outputNormBias)
        }

        return sequences.indices.enumerated().map { (n, _) in
            var vector = [Float](repeating: 0, count: width)
            vector.withUnsafeMutableBufferPointer { out in
                let v = out.baseAddress!
                switch c.pooling {
                case .mean:
                    for t in starts[n]..<(starts[n] + lengths[n]) { VectorMath.add(v, a.hidden + t * width, width) }
                    let inverse = 1 / Float(lengths[n])
                    for i in 0..<width { v[i] *= inverse }
                case .cls:
                    v.update(from: a.hidden + starts[n] * width, count: width)
                }
                EncoderMath.normalize(v, width)
            }
            return vector
        }
    }

    /// `output = w * input (+ bias)` for every token row.
    private func project(
        _ w: WeightMatrix,
        bias: [Float]?,
        input: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>,
        tokens: Int
    ) {
        MatrixKernels.matMul(w, input: input, tokens: tokens, output: output, pool: pool)
        guard let bias else { return }
        let rows = w.rows
        bias.withUnsafeBufferPointer { b in
            forRows(tokens, cost: rows) { range in
                for t in range { VectorMath.add(output + t * rows, b.baseAddress!, rows) }
            }
        }
    }

    /// `hidden = LayerNorm(hidden + projected)` (post-norm residual).
    private func residualNorm(_ a: Activations, weight: [Float], bias: [Float]) {
        let width = configuration.embeddingLength
        let epsilon = configuration.layerNormEpsilon
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                forRows(a.tokens, cost: width * 4) { range in
                    for t in range {
                        let row = a.hidden + t * width
                        VectorMath.add(row, a.projected + t * width, width)
                        EncoderMath.layerNorm(row, weight: w.baseAddress!, bias: b.baseAddress!, epsilon: epsilon, width)
                    }
                }
            }
        }
    }

    /// Splits `rows` into pieces of about 64k operations and runs them on the pool (inline when small).
    func forRows(_ rows: Int, cost: Int, _ body: (Range<Int>) -> Void) {
        let perPiece = max(1, 65_536 / max(cost, 1))
        let pieces = (rows + perPiece - 1) / perPiece
        guard let pool, pieces > 1 else {
            body(0..<rows)
            return
        }
        pool.parallelFor(count: pieces) { piece in
            let start = piece * perPiece
            body(start..<min(rows, start + perPiece))
        }
    }
}

@inline(__always)
func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress!) }
}
