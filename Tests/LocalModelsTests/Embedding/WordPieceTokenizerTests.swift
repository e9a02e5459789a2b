import Foundation
import Testing

@testable import LocalModels

@Suite struct WordPieceTokenizerTests {
    static let models = EmbeddingFixtures.cases.models

    static func tokenizer(_ model: EmbeddingFixtures.Model) throws -> WordPieceTokenizer {
        try WordPieceTokenizer(gguf: GGUFFile(path: EmbeddingFixtures.path("\(model.name)-f32.gguf")))
    }

    /// Every corpus text gives exactly Hugging Face `tokenizers`' ids (BertNormalizer, BertPreTokenizer,
    /// WordPiece, [CLS] ... [SEP], truncation to the context), for the uncased and the cased vocabulary.
    @Test(arguments: models.map(\.name))
    func tokenIDsMatchHuggingFace(name: String) throws {
        let model = try #require(Self.models.first { $0.name == name })
        let tokenizer = try Self.tokenizer(model)
        #expect(tokenizer.lowercase == !model.cased)
        #expect(tokenizer.stripAccents == !model.cased)
        for (index, text) in EmbeddingFixtures.cases.corpus.enumerated() {
            let ids = tokenizer.encode(text, maxLength: model.context)
            #expect(ids == model.token_ids[index], "text \(index): \(text.debugDescription)")
        }
    }

    /// Where llama.cpp's WordPiece agrees with Hugging Face, so do we; the corpus has texts where it does not
    /// (llama.cpp has no 100-character word limit, keeps U+000B/U+000C/U+0085 as separators, always lowercases).
    @Test func agreesWithLlamaCppWhereLlamaCppAgreesWithHuggingFace() throws {
        let model = Self.models[0]
        let tokenizer = try Self.tokenizer(model)
        var agreeing = 0
        for (index, text) in EmbeddingFixtures.cases.corpus.enumerated()
        where model.llama_cpp_token_ids[index] == model.token_ids[index] {
            #expect(tokenizer.encode(text, maxLength: model.context) == model.llama_cpp_token_ids[index])
            agreeing += 1
        }
        #expect(agreeing >= 20)
    }

    @Test func truncationKeepsTheFirstPiecesAndTheSeparator() throws {
        let tokenizer = try Self.tokenizer(Self.models[0])
        let full = tokenizer.encode("the quick brown fox jumps over the lazy dog")
        #expect(full.count > 6)
        let cut = tokenizer.encode("the quick brown fox jumps over the lazy dog", maxLength: 6)
        #expect(cut == Array(full.prefix(5)) + [tokenizer.separatorTokenID])
        #expect(tokenizer.encode("the quick", maxLength: 2) == [tokenizer.classifyTokenID, tokenizer.separatorTokenID])
        #expect(tokenizer.encode("") == [tokenizer.classifyTokenID, tokenizer.separatorTokenID])
    }

    @Test func specialTokensInTheTextAreMatchedWhole() throws {
        let tokenizer = try Self.tokenizer(Self.models[0])
        let hello = tokenizer.pieces(of: "hello")
        let world = tokenizer.pieces(of: "world")
        let ids = tokenizer.pieces(of: "hello[SEP]world [MASK]")
        let mask = try #require(tokenizer.specials.first { $0.bytes == Array("[MASK]".utf8) }?.id)
        #expect(ids == hello + [tokenizer.separatorTokenID] + world + [mask])
        // Not a special token: split as punctuation and letters.
        #expect(!tokenizer.pieces(of: "[SEPX]").contains(tokenizer.separatorTokenID))
    }

    @Test func greedyLongestMatchFirst() throws {
        let tokenizer = try Self.tokenizer(Self.models[0])
        let vocabulary = try #require(GGUFFile(path: EmbeddingFixtures.path("tiny-uncased-f32.gguf"))
            .array("tokenizer.ggml.tokens")?.strings)
        func text(_ ids: [Int32]) -> [String] { ids.map { vocabulary[Int($0)] } }
        // "unbelievable" = un ##believ ##able, not u ##n ##b ... nor un ##believ ##ab ##le.
        #expect(text(tokenizer.pieces(of: "unbelievable")) == ["\u{2581}un", "believ", "able"])
        #expect(text(tokenizer.pieces(of: "tokens")) == ["\u{2581}token", "s"])
        // A word with a character no piece covers is one [UNK].
        #expect(tokenizer.pieces(of: "fox\u{0416}") == [tokenizer.unknownTokenID])
        #expect(tokenizer.pieces(of: String(repeating: "a", count: 100)).count == 100)
        #expect(tokenizer.pieces(of: String(repeating: "a", count: 101)) == [tokenizer.unknownTokenID])
    }

    @Test func precomposedAndDecomposedAccentsAreDifferentTextsUntilStripped() throws {
        let uncased = try Self.tokenizer(Self.models[0])
        #expect(uncased.pieces(of: "caf\u{E9}") == uncased.pieces(of: "cafe\u{301}"))
        #expect(uncased.pieces(of: "CAF\u{C9}") == uncased.pieces(of: "cafe"))
        // The cased vocabulary has "é" (precomposed) but keeps accents: only the precomposed form matches it.
        let cased = try Self.tokenizer(Self.models[1])
        #expect(cased.pieces(of: "\u{E9}") != [cased.unknownTokenID])
        #expect(cased.pieces(of: "e\u{301}") == [cased.unknownTokenID])
    }

    /// The real all-MiniLM-L6-v2 vocabulary (30522 pieces) on the whole corpus, against its own tokenizer.json.
    @Test(.enabled(if: EmbeddingFixtures.realModel("all-minilm-l6-v2-q8_0.gguf") != nil))
    func realMiniLMVocabularyMatchesItsTokenizerJSON() throws {
        let path = try #require(EmbeddingFixtures.realModel("all-minilm-l6-v2-q8_0.gguf"))
        let tokenizer = try WordPieceTokenizer(gguf: GGUFFile(path: path))
        #expect(tokenizer.vocabularySize == 30522)
        for (index, text) in EmbeddingFixtures.cases.corpus.enumerated() {
            #expect(
                tokenizer.encode(text, maxLength: 512) == EmbeddingFixtures.minilm.corpus_token_ids[index],
                "text \(index): \(text.debugDescription)")
        }
        for (index, text) in EmbeddingFixtures.minilm.sentences.enumerated() {
            #expect(tokenizer.encode(text, maxLength: 512) == EmbeddingFixtures.minilm.sentence_token_ids[index])
        }
    }
}
