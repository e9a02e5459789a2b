/// The tensors of a BERT encoder, bound by llama.cpp's names and checked against the configuration, so that a bad
/// file fails at load with the tensor's name rather than reading out of bounds later. Matrices stay in the mapped
/// file; vectors and the small position and token-type tables are converted to `Float` once.
struct BertWeights: @unchecked Sendable {
    struct Layer {
        var query: WeightMatrix
        var queryBias: [Float]?
        var key: WeightMatrix
        var keyBias: [Float]?
        var value: WeightMatrix
        var valueBias: [Float]?
        var output: WeightMatrix
        var outputBias: [Float]?
        var attentionNorm: [Float]
        var attentionNormBias: [Float]
        var up: WeightMatrix
        var upBias: [Float]?
        var down: WeightMatrix
        var downBias: [Float]?
        var outputNorm: [Float]
        var outputNormBias: [Float]
        /// q, k and v stacked into one matrix (when they share a type), so that one product over the batch
        /// quantises the input once and hands the pool one set of tiles.
        var queryKeyValue: StackedMatrix?
    }

    /// Matrices of the same type and width, their rows one after another in memory of its own, and their biases.
    final class StackedMatrix: @unchecked Sendable {
        let matrix: WeightMatrix
        let bias: [Float]
        private let storage: UnsafeMutableRawPointer

        init?(_ parts: [(WeightMatrix, [Float]?)]) {
            guard let first = parts.first?.0,
                parts.allSatisfy({ $0.0.type == first.type && $0.0.columns == first.columns })
            else { return nil }
            let rows = parts.reduce(0) { $0 + $1.0.rows }
            let bytes = rows * first.rowBytes
            storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
            var offset = 0
            var bias: [Float] = []
            for (m, b) in parts {
                storage.advanced(by: offset).copyMemory(from: m.base, byteCount: m.rows * m.rowBytes)
                offset += m.rows * m.rowBytes
                bias += b ?? [Float](repeating: 0, count: m.rows)
            }
            self.bias = bias
            matrix = WeightMatrix(type: first.type, rows: rows, columns: first.columns, base: storage)
        }

        deinit { storage.deallocate() }
    }

    /// `token_embd.weight`: one row per token, in the file's type.
    var tokens: WeightMatrix
    /// `position_embd.weight`, `contextLength` rows of `embeddingLength`.
    var positions: [Float]
    /// Row 0 of `token_types.weight` (every token is segment A), or zeros when the file has none.
    var tokenType: [Float]
    var embeddingNorm: [Float]
    var embeddingNormBias: [Float]
    var layers: [Layer]

    /// `stackProjections: false` keeps q, k and v apart (tests check that both ways give the same bits).
    init(file: GGUFFile, configuration c: BertConfiguration, stackProjections: Bool = true) throws {
        let binder = TensorBinder(file: file)
        let h = c.embeddingLength
        let f = c.feedForwardLength
        tokens = try binder.matrix("token_embd.weight", columns: h, rows: c.vocabularySize)
        guard let positionTensor = file.tensor(named: "position_embd.weight") else {
            throw GGUFLoadError(
                file: file.path, part: "tensor position_embd.weight",
                reason: "missing; expected shape [\(h), \(c.contextLength)]")
        }
        guard positionTensor.shape.count == 2, positionTensor.shape[0] == h, positionTensor.shape[1] >= c.contextLength
        else {
            throw GGUFLoadError(
                file: file.path, part: "tensor position_embd.weight",
                reason: "shape \(positionTensor.shape), expected [\(h), \(c.contextLength)] (or more positions)")
        }
        positions = try Self.floats(binder.matrix("position_embd.weight", columns: h, rows: positionTensor.shape[1]))
        if let types = file.tensor(named: "token_types.weight") {
            guard types.shape.count == 2, types.shape[0] == h, types.shape[1] >= 1 else {
                throw GGUFLoadError(
                    file: file.path, part: "tensor token_types.weight",
                    reason: "shape \(types.shape), expected [\(h), 2]")
            }
            let table = try Self.floats(binder.matrix("token_types.weight", columns: h, rows: types.shape[1]))
            tokenType = Array(table[0..<h])
        } else {
            tokenType = [Float](repeating: 0, count: h)
        }
        embeddingNorm = try binder.vector("token_embd_norm.weight", length: h)
        embeddingNormBias = try binder.vector("token_embd_norm.bias", length: h)
        // A loop, not a map over the count: a corrupt block_count fails at the first missing layer instead of
        // reserving room for billions.
        var layers: [Layer] = []
        for i in 0..<c.blockCount {
            let p = "blk.\(i)."
            var layer = (Layer(
                query: try binder.matrix(p + "attn_q.weight", columns: h, rows: h),
                queryBias: try binder.optionalVector(p + "attn_q.bias", length: h),
                key: try binder.matrix(p + "attn_k.weight", columns: h, rows: h),
                keyBias: try binder.optionalVector(p + "attn_k.bias", length: h),
                value: try binder.matrix(p + "attn_v.weight", columns: h, rows: h),
                valueBias: try binder.optionalVector(p + "attn_v.bias", length: h),
                output: try binder.matrix(p + "attn_output.weight", columns: h, rows: h),
                outputBias: try binder.optionalVector(p + "attn_output.bias", length: h),
                attentionNorm: try binder.vector(p + "attn_output_norm.weight", length: h),
                attentionNormBias: try binder.vector(p + "attn_output_norm.bias", length: h),
                up: try binder.matrix(p + "ffn_up.weight", columns: h, rows: f),
                upBias: try binder.optionalVector(p + "ffn_up.bias", length: f),
                down: try binder.matrix(p + "ffn_down.weight", columns: f, rows: h),
                downBias: try binder.optionalVector(p + "ffn_down.bias", length: h),
                outputNorm: try binder.vector(p + "layer_output_norm.weight", length: h),
                outputNormBias: try binder.vector(p + "layer_output_norm.bias", length: h),
                queryKeyValue: nil
            ))
            layer.queryKeyValue = !stackProjections ? nil : StackedMatrix([
                (layer.query, layer.queryBias), (layer.key, layer.keyBias), (layer.value, layer.valueBias),
            ])
            layers.append(layer)
        }
        self.layers = layers
    }

    /// Every element of a matrix as floats, row after row.
    static func floats(_ m: WeightMatrix) -> [Float] {
        [Float](unsafeUninitializedCapacity: m.rows * m.columns) { buffer, count in
            for r in 0..<m.rows {
                MatrixKernels.dequantize(
                    m.type, from: m.base + r * m.rowBytes, to: buffer.baseAddress! + r * m.columns, count: m.columns)
            }
            count = m.rows * m.columns
        }
    }
}
