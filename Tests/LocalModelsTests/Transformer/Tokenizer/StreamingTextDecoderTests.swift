import Foundation
import Testing

@testable import LocalModels

/// Streaming never emits half a character, and the stream adds up to the pieces llama.cpp gives.
@Suite struct StreamingTextDecoderTests {
    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer(gguf: GGUFFile(path: TransformerFixtures.path("tokenizer/\(name).gguf")))
    }

    @Test(arguments: ["spm", "qwen2", "llama-bpe"])
    func holdsBackPartialCharacters(_ name: String) throws {
        let tokenizer = try Self.tokenizer(name)
        let reference = try #require(TokenizerReference.fixtures[name])
        for c in reference.cases where c.add_special && c.parse_special {
            var decoder = StreamingTextDecoder(tokenizer: tokenizer)
            var streamed = ""
            var whole: [UInt8] = []
            for id in c.ids {
                let chunk = decoder.append(id)
                #expect(!chunk.unicodeScalars.contains("\u{FFFD}"), "\(c.text.debugDescription): split character")
                streamed += chunk
                whole += tokenizer.piece(id)
            }
            streamed += decoder.finish()
            #expect(Array(streamed.utf8) == whole, "\(c.text.debugDescription)")
        }
    }

    @Test func emojiFromByteTokensArrivesWhole() throws {
        let tokenizer = try Self.tokenizer("spm")
        let ids = tokenizer.encode("🙂", addSpecial: false)
        #expect(ids.count > 2)  // "▁" plus the emoji's four byte tokens
        var decoder = StreamingTextDecoder(tokenizer: tokenizer)
        let chunks = ids.map { decoder.append($0) }
        #expect(chunks.last == "🙂")
        #expect(chunks.dropLast().allSatisfy { !$0.contains("🙂") })
        #expect(decoder.finish() == "")
    }

    @Test func unfinishedSequenceBecomesReplacementAtTheEnd() throws {
        let tokenizer = try Self.tokenizer("spm")
        let ids = tokenizer.encode("🙂", addSpecial: false)
        var decoder = StreamingTextDecoder(tokenizer: tokenizer)
        for id in ids.dropLast() { _ = decoder.append(id) }
        #expect(decoder.finish() == "\u{FFFD}")
    }

    @Test func completeLengthKeepsOnlyTheUnfinishedTail() {
        #expect(StreamingTextDecoder.completeLength(Array("ab".utf8)) == 2)
        #expect(StreamingTextDecoder.completeLength([0x61, 0xF0, 0x9F]) == 1)
        #expect(StreamingTextDecoder.completeLength([0xF0, 0x9F, 0x99, 0x82]) == 4)
        #expect(StreamingTextDecoder.completeLength([0x61, 0xE6]) == 1)
        #expect(StreamingTextDecoder.completeLength([0x80, 0x80, 0x80, 0x80]) == 4)  // never completes: let it out
    }
}
