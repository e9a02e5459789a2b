import Foundation
import Testing

@testable import LocalModels

@Suite struct BertEncoderTests {
    static let models = EmbeddingFixtures.cases.models
    static let files: [(model: String, file: String)] = models.flatMap { m in m.files.map { (m.name, $0.file) } }

    /// The cosine each file type must reach against the numpy BERT on the F32 weights.
    static func threshold(_ type: String) -> Double { type == "Q8_0" ? 0.99 : 0.999 }

    static func encoder(_ file: String, threads: Int = 2) throws -> BertEncoder {
        try BertEncoder(path: EmbeddingFixtures.path(file), threads: threads)
    }

    @Test func readsTheConfigurationOfTheFile() throws {
        for model in Self.models {
            let encoder = try Self.encoder("\(model.name)-q8_0.gguf")
            let c = encoder.configuration
            #expect(c.embeddingLength == model.hidden)
            #expect(c.headCount == model.heads)
            #expect(c.blockCount == model.layers)
            #expect(c.contextLength == model.context)
            #expect(c.vocabularySize == model.vocab_size)
            #expect(c.pooling == .mean)
            #expect(encoder.dimensions == model.hidden)
        }
    }

    /// Each text of the corpus, one batch per file: cosine against the float64 numpy BERT on the F32 weights (at
    /// least 0.999 for F32 and F16, 0.99 for Q8_0) and on the file's own dequantised weights (0.999: only the
    /// activations' Q8 rounding and float32 arithmetic differ).
    @Test(arguments: files.map(\.file))
    func embeddingsMatchTheNumpyReference(file: String) throws {
        let model = try #require(Self.models.first { m in m.files.contains { $0.file == file } })
        let fixture = try #require(model.files.first { $0.file == file })
        let encoder = try Self.encoder(file)
        let vectors = try encoder.embed(tokenized: model.token_ids)
        var worstF32 = 1.0
        var worstOwn = 1.0
        for (index, vector) in vectors.enumerated() {
            #expect(vector.count == model.hidden)
            let norm = vector.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
            worstF32 = min(worstF32, EmbeddingFixtures.cosine(vector, model.reference_f32_weights[index]))
            worstOwn = min(worstOwn, EmbeddingFixtures.cosine(vector, fixture.reference_own_weights[index]))
        }
        print("\(file): worst cosine \(worstF32) against the F32 weights, \(worstOwn) against its own weights")
        #expect(worstF32 >= Self.threshold(fixture.type))
        #expect(worstOwn >= 0.999)
    }

    /// llama.cpp's embedding mode on the same file, for the texts where its tokens equal Hugging Face's. It uses the
    /// tanh approximation of GELU where BERT's is erf, so the bar is the Q8_0 one.
    @Test(arguments: files.map(\.file))
    func embeddingsMatchLlamaCpp(file: String) throws {
        let model = try #require(Self.models.first { m in m.files.contains { $0.file == file } })
        let fixture = try #require(model.files.first { $0.file == file })
        let encoder = try Self.encoder(file)
        var worst = 1.0
        var compared = 0
        for (index, ids) in model.token_ids.enumerated() {
            guard ids == model.llama_cpp_token_ids[index], let reference = fixture.llama_cpp[index] else { continue }
            let vector = try encoder.embed(tokenized: [ids])[0]
            worst = min(worst, EmbeddingFixtures.cosine(vector, reference))
            compared += 1
        }
        print("\(file): worst cosine against llama.cpp \(worst) over \(compared) texts")
        #expect(compared >= 5)
        #expect(worst >= 0.99)
    }

    /// A batch gives each text the same bits as embedding it alone (the products do not depend on the batch), on
    /// one thread and on two, and in batches cut by the token budget.
    @Test(arguments: ["tiny-uncased-q8_0.gguf", "small-cased-f16.gguf", "tiny-uncased-f32.gguf"])
    func batchedEqualsOneAtATime(file: String) throws {
        let model = try #require(Self.models.first { m in m.files.contains { $0.file == file } })
        let two = try Self.encoder(file, threads: 2)
        let one = try Self.encoder(file, threads: 1)
        let batched = try two.embed(tokenized: model.token_ids)
        let budgeted = try two.embed(tokenized: model.token_ids, maxBatchTokens: 40)
        for (index, ids) in model.token_ids.enumerated() {
            let alone = try one.embed(tokenized: [ids])[0]
            #expect(batched[index] == alone, "text \(index)")
            #expect(budgeted[index] == alone, "text \(index)")
        }
    }

    /// q, k and v stacked into one product (the default) or run apart (a file whose three types differ): same bits.
    @Test(arguments: ["tiny-uncased-q8_0.gguf", "small-cased-f16.gguf"])
    func stackedProjectionsEqualSeparateOnes(file: String) throws {
        let model = try #require(Self.models.first { m in m.files.contains { $0.file == file } })
        let gguf = try GGUFFile(path: EmbeddingFixtures.path(file))
        let stacked = try BertEncoder(file: gguf, pool: EngineThreadPool(threads: 2), stackProjections: true)
        let separate = try BertEncoder(file: gguf, pool: EngineThreadPool(threads: 2), stackProjections: false)
        #expect(stacked.weights.layers.allSatisfy { $0.queryKeyValue != nil })
        #expect(separate.weights.layers.allSatisfy { $0.queryKeyValue == nil })
        #expect(try stacked.embed(tokenized: model.token_ids) == separate.embed(tokenized: model.token_ids))
    }

    @Test func textsAreTokenisedAndCutToTheContext() throws {
        let model = Self.models[1]  // context 32
        let encoder = try Self.encoder("\(model.name)-f32.gguf")
        let corpus = EmbeddingFixtures.cases.corpus
        let fromText = encoder.embed(corpus)
        let fromIDs = try encoder.embed(tokenized: model.token_ids)
        #expect(fromText == fromIDs)
        #expect(corpus.map(encoder.tokenize).allSatisfy { $0.count <= model.context })
    }

    @Test func refusesSequencesItCannotRun() throws {
        let encoder = try Self.encoder("tiny-uncased-f32.gguf")
        let context = encoder.configuration.contextLength
        #expect(throws: TransformerError.self) { try encoder.embed(tokenized: [[3, 4], []]) }
        #expect(throws: TransformerError.self) {
            try encoder.embed(tokenized: [[Int32](repeating: 7, count: context + 1)])
        }
        #expect(throws: TransformerError.self) { try encoder.embed(tokenized: [[3, Int32(encoder.configuration.vocabularySize)]]) }
        #expect(throws: TransformerError.self) { try encoder.embed(tokenized: [[3, -1, 4]]) }
        #expect(try encoder.embed(tokenized: []).isEmpty)
        #expect(try encoder.embed(tokenized: [[Int32](repeating: 7, count: context)]).count == 1)
    }
}
