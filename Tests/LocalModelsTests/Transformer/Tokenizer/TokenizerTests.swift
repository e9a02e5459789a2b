import Foundation
import Testing

@testable import LocalModels

/// Ids, pieces, decoded text and end-of-generation tokens against llama.cpp, on the vocab-only GGUFs written by
/// scripts/tokenizer_fixtures.py (each has ~90 texts × add_special × parse_special).
@Suite struct TokenizerTests {
    static let vocabularies = [
        "spm", "spm-phi3", "spm-bare", "llama-bpe", "llama-bpe-bare", "qwen2", "qwen35", "gpt-2", "default",
        "starcoder",
    ]

    @Test(arguments: vocabularies)
    func matchesLlamaCpp(_ name: String) throws {
        let reference = try #require(TokenizerReference.fixtures[name])
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: TransformerFixtures.path(reference.file)))
        let differences = reference.differences(tokenizer)
        #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
    }
}
