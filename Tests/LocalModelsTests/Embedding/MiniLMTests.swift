import Foundation
import Testing

@testable import LocalModels

/// The real all-MiniLM-L6-v2, when scripts/setup.sh has converted it (models/*.gguf is not committed): its
/// embeddings against a float64 numpy BERT on the original F32 safetensors weights.
@Suite struct MiniLMTests {
    static let q8 = EmbeddingFixtures.realModel("all-minilm-l6-v2-q8_0.gguf")
    static let f32 = EmbeddingFixtures.realModel("all-minilm-l6-v2-f32.gguf")

    static func check(_ path: String, threshold: Double) throws -> Double {
        let encoder = try BertEncoder(path: path, threads: 2)
        #expect(encoder.dimensions == 384)
        #expect(encoder.configuration.contextLength == 512)
        // sentence-transformers cuts MiniLM's inputs at 256 tokens; so does the encoder.
        #expect(encoder.configuration.maxInputTokens == 256)
        #expect(encoder.tokenize(String(repeating: "word ", count: 400)).count == 256)
        let reference = EmbeddingFixtures.minilm
        let vectors = encoder.embed(reference.sentences)
        var worst = 1.0
        for (index, vector) in vectors.enumerated() {
            let cosine = EmbeddingFixtures.cosine(vector, reference.reference[index])
            #expect(cosine >= threshold, "sentence \(index): \(reference.sentences[index])")
            worst = min(worst, cosine)
        }
        print("\(path): worst cosine \(worst) over \(vectors.count) sentences")
        return worst
    }

    @Test(.enabled(if: q8 != nil)) func q8_0MatchesTheReference() throws {
        _ = try Self.check(try #require(Self.q8), threshold: 0.99)
    }

    @Test(.enabled(if: f32 != nil)) func f32MatchesTheReference() throws {
        _ = try Self.check(try #require(Self.f32), threshold: 0.999)
    }

    /// Similar sentences end up closer than unrelated ones (the vectors mean something).
    @Test(.enabled(if: q8 != nil)) func similarSentencesAreCloser() throws {
        let encoder = try BertEncoder(path: try #require(Self.q8), threads: 2)
        let v = encoder.embed(["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awesome."])
        #expect(EmbeddingFixtures.cosine(v[0], v[1]) > EmbeddingFixtures.cosine(v[0], v[2]) + 0.3)
    }
}
