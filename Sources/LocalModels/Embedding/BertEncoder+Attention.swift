extension BertEncoder {
    /// Bidirectional multi-head attention of every sequence over its own tokens: `context = softmax(q k^T / sqrt(d))
    /// v` per head, one work item per (sequence, head).
    func attend(_ a: Activations, starts: [Int], lengths: [Int]) {
        let width = configuration.embeddingLength
        let heads = configuration.headCount
        let d = configuration.headDimension
        let scale = 1 / Float(d).squareRoot()
        let longest = lengths.max() ?? 0
        let stride = 3 * width
        let keys = a.queryKeyValue + width
        let values = a.queryKeyValue + 2 * width
        let work = { (item: Int) in
            let sequence = item / heads
            let head = item % heads
            let start = starts[sequence]
            let length = lengths[sequence]
            withUnsafeTemporaryAllocation(of: Float.self, capacity: longest) { buffer in
                let scores = buffer.baseAddress!
                for i in 0..<length {
                    let q = a.queryKeyValue + (start + i) * stride + head * d
                    for j in 0..<length {
                        scores[j] = VectorMath.dot(q, keys + (start + j) * stride + head * d, d) * scale
                    }
                    EncoderMath.softmax(scores, length)
                    let out = a.context + (start + i) * width + head * d
                    out.update(repeating: 0, count: d)
                    for j in 0..<length {
                        VectorMath.addScaled(out, values + (start + j) * stride + head * d, scores[j], d)
                    }
                }
            }
        }
        let items = lengths.count * heads
        if let pool { pool.parallelFor(count: items, work) } else { for i in 0..<items { work(i) } }
    }
}
