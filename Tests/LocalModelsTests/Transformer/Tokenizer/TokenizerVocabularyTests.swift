import Foundation
import Testing

@testable import LocalModels

/// Files whose tokenizer metadata is missing or inconsistent fail with the key that is wrong; vocabularies this
/// engine cannot tokenize (as llama.cpp cannot) fail when the tokenizer is made.
@Suite struct TokenizerVocabularyTests {
    /// A tiny SentencePiece vocabulary, edited by each test.
    static func writer(
        tokens: [String] = ["<unk>", "<s>", "</s>", "▁a", "a"], model: String = "llama"
    ) -> GGUFTestWriter {
        var writer = GGUFTestWriter()
        writer.add("general.architecture", .string("llama"))
        writer.add("tokenizer.ggml.model", .string(model))
        writer.add("tokenizer.ggml.tokens", .array(elementType: 8, tokens.map { .string($0) }))
        return writer
    }

    static func error(_ writer: GGUFTestWriter) throws -> GGUFLoadError? {
        let file = try GGUFFile(path: writer.write())
        do {
            _ = try Tokenizer(gguf: file)
            return nil
        } catch let error as GGUFLoadError {
            return error
        }
    }

    @Test func missingModelNamesTheKey() throws {
        var writer = Self.writer()
        writer.remove(metadata: "tokenizer.ggml.model")
        #expect(try Self.error(writer)?.part == "metadata key tokenizer.ggml.model")
    }

    @Test func missingOrMistypedTokens() throws {
        var writer = Self.writer()
        writer.remove(metadata: "tokenizer.ggml.tokens")
        #expect(try Self.error(writer)?.part == "metadata key tokenizer.ggml.tokens")
        writer.add("tokenizer.ggml.tokens", .array(elementType: 5, [.int32(1), .int32(2)]))
        #expect(try Self.error(writer)?.part == "metadata key tokenizer.ggml.tokens")
    }

    @Test func scoresAndTypesMustCoverEveryToken() throws {
        var writer = Self.writer()
        writer.add("tokenizer.ggml.scores", .array(elementType: 6, [.float32(0), .float32(0)]))
        let scores = try Self.error(writer)
        #expect(scores?.part == "metadata key tokenizer.ggml.scores")
        #expect(scores?.reason == "has 2 entries for 5 tokens")

        writer = Self.writer()
        writer.add("tokenizer.ggml.token_type", .array(elementType: 8, Array(repeating: .string("1"), count: 5)))
        #expect(try Self.error(writer)?.part == "metadata key tokenizer.ggml.token_type")
    }

    @Test func bytePairNeedsMerges() throws {
        var writer = Self.writer(tokens: ["a", "b", "ab"], model: "gpt2")
        writer.add("tokenizer.ggml.pre", .string("qwen2"))
        #expect(try Self.error(writer)?.part == "metadata key tokenizer.ggml.merges")
        writer.add("tokenizer.ggml.merges", .array(elementType: 8, [.string("a b")]))
        #expect(try Self.error(writer) == nil)
    }

    @Test func unknownModelOrPreTokenizerIsRefused() throws {
        let bert = try Self.error(Self.writer(model: "bert"))
        #expect(bert?.part == "metadata key tokenizer.ggml.model")
        #expect(bert?.reason.contains("'bert'") == true)

        var writer = Self.writer(tokens: ["a", "b"], model: "gpt2")
        writer.add("tokenizer.ggml.pre", .string("deepseek-llm"))
        writer.add("tokenizer.ggml.merges", .array(elementType: 8, [.string("a b")]))
        let pre = try Self.error(writer)
        #expect(pre?.part == "metadata key tokenizer.ggml.pre")
        #expect(pre?.reason.contains("llama-bpe") == true)
    }

    @Test func repeatedTokenTextIsRefused() throws {
        let error = try Self.error(Self.writer(tokens: ["<unk>", "<s>", "</s>", "a", "a"]))
        #expect(error?.part == "metadata key tokenizer.ggml.tokens")
        #expect(error?.reason.contains("token 4 repeats the text of token 3") == true)
    }

    @Test func readsWhatTheFileSays() throws {
        let file = try GGUFFile(path: TransformerFixtures.path("tokenizer/qwen2.gguf"))
        let vocabulary = try TokenizerVocabulary(gguf: file)
        #expect(vocabulary.model == "gpt2")
        #expect(vocabulary.pre == "qwen2")
        #expect(vocabulary.tokens.count == 1500)
        #expect(vocabulary.merges.count > 1000)
        #expect(vocabulary.addBOS == false)
        #expect(vocabulary.chatTemplate?.contains("<|im_start|>") == true)
        #expect(vocabulary.types.filter { $0 == .userDefined }.count == 2)
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        #expect(tokenizer.preTokenizer == "qwen2")
        #expect(try ChatTemplate(modelTemplate: vocabulary.chatTemplate).family == "chatml")
    }
}
