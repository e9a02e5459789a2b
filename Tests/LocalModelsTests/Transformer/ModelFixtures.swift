import Foundation
import Testing

/// The reference models of `Fixtures/transformer/models/` and llama.cpp's outputs on them, as
/// `scripts/transformer_fixtures.py` wrote them into `manifest.json`: random-weight GGUF models quantised
/// by llama.cpp, with llama.cpp's tokens, logits and greedy continuations for each. Shared by every test
/// that compares the engine with llama.cpp.
struct ModelFixtures: Decodable {
    struct Model: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var architecture: String
        var shapeName: String
        var shape: Shape
        /// "spm", "bpe:llama-bpe" or "bpe:qwen2".
        var vocabulary: String
        /// The LLAMA_FTYPE_* llama.cpp quantised with ("ALL_F32": written unquantised).
        var llamaFileType: String
        /// Whether every 2-D tensor has that one type (false: llama.cpp's own mix).
        var pure: Bool
        var bytes: Int
        /// Tensor type name ("Q4_K") -> how many tensors have it.
        var tensorTypes: [String: Int]
        /// Tensor name -> type name.
        var tensors: [String: String]
        var prompts: [Prompt]

        var testDescription: String { file }

        var path: String { TransformerFixtures.path("models/\(file)") }
        /// The quantised type most of the matrices use ("Q4_K" for a mixed Q4_K/Q6_K file).
        var mainType: String {
            tensorTypes.filter { $0.key != "F32" }.max { $0.value < $1.value }?.key ?? "F32"
        }
        var isF32: Bool { llamaFileType == "ALL_F32" }
        /// The prompt llama.cpp continued greedily (the longest one).
        var greedyPrompt: Prompt? { prompts.first { $0.greedyTokens != nil } }

        enum CodingKeys: String, CodingKey {
            case file, architecture
            case shapeName = "shape_name"
            case shape
            case vocabulary = "vocab"
            case llamaFileType = "llama_ftype"
            case pure, bytes
            case tensorTypes = "tensor_types"
            case tensors, prompts
        }
    }

    struct Shape: Decodable, Sendable {
        var vocabularySize: Int
        var embeddingLength: Int
        var layerCount: Int
        var headCount: Int
        var keyValueHeadCount: Int
        var headDimension: Int
        var feedForwardLength: Int
        var ropeFrequencyBase: Float
        var rmsNormEpsilon: Float
        var tiedEmbeddings: Bool
        var qkvBias: Bool

        enum CodingKeys: String, CodingKey {
            case vocabularySize = "vocab_size"
            case embeddingLength = "n_embd"
            case layerCount = "n_layer"
            case headCount = "n_head"
            case keyValueHeadCount = "n_head_kv"
            case headDimension = "head_dim"
            case feedForwardLength = "n_ff"
            case ropeFrequencyBase = "rope_freq_base"
            case rmsNormEpsilon = "rms_norm_eps"
            case tiedEmbeddings = "tied_embeddings"
            case qkvBias = "qkv_bias"
        }
    }

    struct Prompt: Decodable, Sendable {
        var name: String
        var text: String
        /// llama.cpp's tokens for `text` (BOS as the file says, special tokens not parsed).
        var tokens: [Int32]
        /// The logits file (relative to the models folder): little-endian float32, positions x vocabulary.
        var logits: String
        var logitsShape: [Int]
        /// top1 - top2 of the logits at each prompt position.
        var topTwoMargins: [Float]
        /// Only on the longest prompt: 32 greedy tokens, one decode step each, and each step's top-2 margin.
        var greedyTokens: [Int32]?
        var greedyMargins: [Float]?

        /// llama.cpp's logits, row-major `tokens.count x vocabulary`.
        func referenceLogits() throws -> [Float] {
            try TransformerFixtures.floats("models/\(logits)")
        }

        enum CodingKeys: String, CodingKey {
            case name, text, tokens, logits
            case logitsShape = "logits_shape"
            case topTwoMargins = "top2_margins"
            case greedyTokens = "greedy_tokens"
            case greedyMargins = "greedy_margins"
        }
    }

    var models: [Model]

    /// The committed manifest; a missing or undecodable one stops the run with the reason (every model test
    /// depends on it, and an empty list would let parameterised tests pass with no cases).
    static let shared: ModelFixtures = {
        do {
            return try JSONDecoder().decode(ModelFixtures.self, from: TransformerFixtures.data("models/manifest.json"))
        } catch {
            fatalError("models/manifest.json: \(error)")
        }
    }()

    static var all: [Model] { shared.models }
    static var f32: [Model] { shared.models.filter(\.isF32) }
    static var quantised: [Model] { shared.models.filter { !$0.isF32 } }

    static func model(_ file: String) -> Model {
        guard let model = shared.models.first(where: { $0.file == file }) else {
            fatalError("models/manifest.json has no \(file)")
        }
        return model
    }
}
