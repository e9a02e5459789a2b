/// The activations of one forward pass over up to `rows` tokens, allocated once per model.
///
/// Buffers are sized for a full chunk at load; only the attention scores grow, with the longest
/// sequence seen, so steady-state decoding allocates nothing.
final class TransformerScratch {
    let rows: Int
    /// Residual stream, `rows x embedding`.
    let hidden: UnsafeMutablePointer<Float>
    /// Normalised input of the current sub-layer, `rows x embedding`.
    let normed: UnsafeMutablePointer<Float>
    /// Output of the attention or feed-forward projection back to `embedding`, `rows x embedding`.
    let projected: UnsafeMutablePointer<Float>
    let query: UnsafeMutablePointer<Float>
    let key: UnsafeMutablePointer<Float>
    let value: UnsafeMutablePointer<Float>
    /// Attention output before `attn_output`, `rows x queryDimension`.
    let attention: UnsafeMutablePointer<Float>
    let gate: UnsafeMutablePointer<Float>
    let up: UnsafeMutablePointer<Float>
    /// cos/sin per row, `rows x ropeDimensionCount`.
    let rope: UnsafeMutablePointer<Float>
    /// Attention tasks that can run at once (one scores row and one block buffer each).
    let taskSlots: Int
    /// Keys and values of one block converted to `Float`, `taskSlots x 2 x blockTokens x headDimension`;
    /// grown with the cache's block size.
    private(set) var blockFloats: UnsafeMutablePointer<Float>
    private(set) var blockFloatsPerTask = 0
    /// Attention scores, `taskSlots x scoresPerTask`.
    private(set) var scores: UnsafeMutablePointer<Float>
    private(set) var scoresPerTask = 0

    private let all: [UnsafeMutablePointer<Float>]

    init(configuration c: TransformerConfiguration, rows: Int, taskSlots: Int) {
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            return p
        }
        self.rows = rows
        self.taskSlots = taskSlots
        hidden = buffer(rows * c.embeddingLength)
        normed = buffer(rows * c.embeddingLength)
        projected = buffer(rows * c.embeddingLength)
        query = buffer(rows * c.queryDimension)
        key = buffer(rows * c.kvDimension)
        value = buffer(rows * c.kvDimension)
        attention = buffer(rows * c.queryDimension)
        gate = buffer(rows * c.feedForwardLength)
        up = buffer(rows * c.feedForwardLength)
        rope = buffer(rows * c.ropeDimensionCount)
        all = [hidden, normed, projected, query, key, value, attention, gate, up, rope]
        blockFloats = buffer(0)
        scores = buffer(0)
    }

    deinit {
        for p in all { p.deallocate() }
        blockFloats.deallocate()
        scores.deallocate()
    }

    /// Makes sure each task has room for `positions` scores and a block of `blockValues` keys and values.
    func ensure(positions: Int, blockValues: Int) {
        if positions > scoresPerTask {
            let grown = max(positions, scoresPerTask * 2, 256)
            scores.deallocate()
            scores = .allocate(capacity: grown * taskSlots)
            scoresPerTask = grown
        }
        if 2 * blockValues > blockFloatsPerTask {
            blockFloats.deallocate()
            blockFloats = .allocate(capacity: 2 * blockValues * taskSlots)
            blockFloatsPerTask = 2 * blockValues
        }
    }
}
