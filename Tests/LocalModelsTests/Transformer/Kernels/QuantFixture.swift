import Foundation

@testable import LocalModels

/// The fixtures of `scripts/quant_fixtures.py`: a small matrix of every weight type with gguf-py's dequantisation
/// and llama.cpp's own dot products, and activations with ggml's conversions of them.
struct QuantFixture {
    static let shared = QuantFixture()

    let rows: Int
    let columns: Int
    let tokens: Int
    let weightTypes: [GGMLType]
    let activations: [Float]

    private init() {
        let manifest =
            try! JSONSerialization.jsonObject(with: TransformerFixtures.data("quant/manifest.json"))
            as! [String: Any]
        rows = manifest["rows"] as! Int
        columns = manifest["columns"] as! Int
        tokens = manifest["tokens"] as! Int
        weightTypes = (manifest["weightTypes"] as! [String]).map { QuantFixture.type(named: $0) }
        activations = try! TransformerFixtures.floats("quant/activations.f32")
    }

    static func type(named name: String) -> GGMLType {
        GGMLType.allCases.first { $0.description == name }!
    }

    /// Raw blocks, `rows` rows of `type.byteCount(elements: columns)` bytes.
    func weights(_ type: GGMLType) -> [UInt8] {
        [UInt8](try! TransformerFixtures.data("quant/weights_\(type).bin"))
    }

    /// gguf-py's dequantisation of `weights(type)`.
    func dequantized(_ type: GGMLType) -> [Float] {
        try! TransformerFixtures.floats("quant/dequant_\(type).f32")
    }

    /// llama.cpp's vec_dot results, token-major (`tokens` x `rows`).
    func ggmlDots(_ type: GGMLType) -> [Float] {
        try! TransformerFixtures.floats("quant/dot_\(type).f32")
    }

    /// ggml's from_float bytes of the activations for an activation type (all tokens).
    func ggmlActivationBytes(_ type: GGMLType) -> [UInt8] {
        [UInt8](try! TransformerFixtures.data("quant/act_\(type).bin"))
    }

    /// The activations after ggml's conversion to `type`, as floats (F32: the activations themselves).
    func quantizedActivations(_ type: GGMLType) -> [Float] {
        type == .f32 ? activations : try! TransformerFixtures.floats("quant/act_\(type).f32")
    }

    /// The float64 dot of dequantised weights with dequantised quantised activations, and the sum of the absolute
    /// products (the scale the float rounding error is relative to), token-major.
    ///
    /// Q4_1 and Q5_1 meet Q8_1 activations, whose blocks carry s = f16(d * sum(q)); llama.cpp adds m * s for the
    /// weights' offset m, so the reference does too: it swaps each block's m * d * sum(q) for m * s.
    func reference(_ type: GGMLType) -> (values: [Double], scales: [Double]) {
        let w = dequantized(type)
        let actType = MatrixKernels.activationType(for: type)
        let a = quantizedActivations(actType)
        let weightBytes = weights(type)
        let actBytes = actType == .q8_1 ? ggmlActivationBytes(.q8_1) : []
        let rowBytes = type.byteCount(elements: columns)!
        var values = [Double](repeating: 0, count: tokens * rows)
        var scales = values
        for t in 0..<tokens {
            for r in 0..<rows {
                var sum = 0.0
                var scale = 0.0
                for c in 0..<columns {
                    let product = Double(w[r * columns + c]) * Double(a[t * columns + c])
                    sum += product
                    scale += abs(product)
                }
                if actType == .q8_1 {
                    for b in 0..<(columns / 32) {
                        let m = Double(Self.half(weightBytes, r * rowBytes + b * type.blockBytes + 2))
                        let block = (t * columns / 32 + b) * 36
                        let d = Double(Self.half(actBytes, block))
                        let s = Double(Self.half(actBytes, block + 2))
                        let q = (0..<32).reduce(0) { $0 + Int(Int8(bitPattern: actBytes[block + 4 + $1])) }
                        sum += m * (s - d * Double(q))
                    }
                }
                values[t * rows + r] = sum
                scales[t * rows + r] = scale
            }
        }
        return (values, scales)
    }

    private static func half(_ bytes: [UInt8], _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8))
    }
}
