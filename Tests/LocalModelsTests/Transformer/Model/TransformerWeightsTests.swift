import Testing

@testable import LocalModels

@Suite struct TransformerWeightsTests {
    private func load(
        _ fixture: String = "llama-mha-f32.gguf",
        editing edit: (inout GGUFTestWriter) -> Void
    ) throws
        -> TransformerModel
    {
        var writer = GGUFTestWriter(copying: try GGUFFile(path: ModelFixtures.model(fixture).path))
        edit(&writer)
        return try TransformerModel(file: writer.open(), pool: nil)
    }

    @Test func aMissingTensorIsNamedWithItsShape() throws {
        let error = #expect(throws: GGUFLoadError.self) {
            try load { $0.remove(tensor: "blk.1.ffn_up.weight") }
        }
        #expect(error?.part == "tensor blk.1.ffn_up.weight")
        #expect(error?.reason == "missing; expected shape [64, 128]")
    }

    @Test func aMisShapedTensorIsNamedWithBothShapes() throws {
        let error = #expect(throws: GGUFLoadError.self) {
            try load { $0.replace(tensor: "blk.0.attn_k.weight", shape: [64, 32]) }
        }
        #expect(error?.part == "tensor blk.0.attn_k.weight")
        #expect(error?.reason == "shape [64, 32], expected [64, 64]")

        let norm = #expect(throws: GGUFLoadError.self) {
            try load { $0.replace(tensor: "output_norm.weight", shape: [65]) }
        }
        #expect(norm?.reason == "shape [65], expected [64]")

        let bias = #expect(throws: GGUFLoadError.self) {
            try load("qwen2-q8_0.gguf") { $0.replace(tensor: "blk.1.attn_v.bias", shape: [128]) }
        }
        #expect(bias?.part == "tensor blk.1.attn_v.bias")
        #expect(bias?.reason == "shape [128], expected [64]")
    }

    @Test func aTypeTheKernelsCannotMultiplyIsRefused() throws {
        let error = #expect(throws: GGUFLoadError.self) {
            try load {
                let i = $0.tensors.firstIndex { $0.name == "blk.0.attn_q.weight" }!
                $0.tensors[i].type = .i32  // same 4 bytes per element as F32
            }
        }
        #expect(error?.part == "tensor blk.0.attn_q.weight")
        #expect(error?.reason == "type I32 is not supported by the matrix kernels")
    }

    @Test func withoutAnOutputMatrixTheHeadIsTheTokenEmbedding() throws {
        let qwen = try TransformerModel(file: GGUFFile(path: ModelFixtures.model("qwen2-q8_0.gguf").path), pool: nil)
        #expect(qwen.weights.tiedOutput)
        #expect(qwen.weights.output.base == qwen.weights.tokenEmbedding.base)
        #expect(qwen.weights.layers.allSatisfy { $0.queryBias != nil && $0.keyBias != nil && $0.valueBias != nil })

        let tied = try load { $0.remove(tensor: "output.weight") }
        #expect(tied.weights.tiedOutput)
        let llama = try TransformerModel(
            file: GGUFFile(path: ModelFixtures.model("llama-mha-f32.gguf").path),
            pool: nil
        )
        #expect(!llama.weights.tiedOutput)
        #expect(llama.weights.layers.allSatisfy { $0.queryBias == nil })
    }
}
