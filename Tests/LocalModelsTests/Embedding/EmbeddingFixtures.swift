import Foundation

/// The embedding fixtures in `Fixtures/embedding/`, written by scripts/embedding_fixtures.py: small random-weight
/// BERT GGUF files, cases.json (a corpus, its token ids from Hugging Face `tokenizers` and from llama.cpp, and
/// reference embeddings from a float64 numpy BERT and from llama.cpp's embedding mode) and minilm.json (the real
/// all-MiniLM-L6-v2: token ids of the corpus and reference embeddings of eight sentences).
enum EmbeddingFixtures {
    struct Cases: Decodable {
        var corpus: [String]
        var models: [Model]
    }

    struct Model: Decodable {
        var name: String
        var hidden: Int
        var heads: Int
        var layers: Int
        var context: Int
        var cased: Bool
        var vocab_size: Int
        var token_ids: [[Int32]]
        var llama_cpp_token_ids: [[Int32]]
        var reference_f32_weights: [[Float]]
        var files: [File]
    }

    struct File: Decodable {
        var file: String
        var type: String
        var reference_own_weights: [[Float]]
        var llama_cpp: [[Float]?]
    }

    struct MiniLM: Decodable {
        var model: String
        var corpus_token_ids: [[Int32]]
        var sentences: [String]
        var sentence_token_ids: [[Int32]]
        var reference: [[Float]]
    }

    static let root: URL = Bundle.module.resourceURL!
        .appendingPathComponent("Fixtures").appendingPathComponent("embedding")

    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    static let cases: Cases = {
        let data = try! Data(contentsOf: root.appendingPathComponent("cases.json"))
        return try! JSONDecoder().decode(Cases.self, from: data)
    }()

    static let minilm: MiniLM = {
        let data = try! Data(contentsOf: root.appendingPathComponent("minilm.json"))
        return try! JSONDecoder().decode(MiniLM.self, from: data)
    }()

    /// The repository's models/ folder (outside the test bundle): scripts/setup.sh converts MiniLM there.
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models")

    /// The real model file at `models/<name>`, when the set-up has written it.
    static func realModel(_ name: String) -> String? {
        let path = models.appendingPathComponent(name).path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "cosine of \(a.count) and \(b.count) floats")
        var dot = 0.0
        var na = 0.0
        var nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        return dot / max((na * nb).squareRoot(), 1e-30)
    }
}
