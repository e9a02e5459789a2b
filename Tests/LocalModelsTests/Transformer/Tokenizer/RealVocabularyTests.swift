import Foundation
import Testing

@testable import LocalModels

/// llama.cpp's own models/ggml-vocab-*.gguf (real Llama, Qwen, GPT-2, StarCoder... vocabularies, too large to
/// commit), compared when `TOKENIZER_REAL_VOCAB_DIR` points at the output of
/// `python3 scripts/tokenizer_fixtures.py --real-vocab <llama.cpp>/models --out DIR`.
@Suite struct RealVocabularyTests {
    static let directory = ProcessInfo.processInfo.environment["TOKENIZER_REAL_VOCAB_DIR"]

    @Test(.enabled(if: directory != nil, "set TOKENIZER_REAL_VOCAB_DIR to compare llama.cpp's real vocabularies"))
    func matchesLlamaCppOnRealVocabularies() throws {
        let references = try TokenizerReference.load(Self.directory! + "/real_cases.json")
        var report: [String] = []
        for name in references.keys.sorted() {
            let reference = references[name]!
            let started = ContinuousClock.now
            let tokenizer: Tokenizer
            do {
                tokenizer = try Tokenizer(gguf: GGUFFile(path: reference.file))
            } catch {
                report.append("\(name): not supported: \(error)")
                continue
            }
            let loaded = ContinuousClock.now - started
            let differences = reference.differences(tokenizer)
            report.append("\(name): \(reference.cases.count) cases, load \(loaded), "
                + (differences.isEmpty ? "identical" : "DIFFERENT:\n  " + differences.joined(separator: "\n  ")))
            #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
        }
        print(report.joined(separator: "\n"))
    }
}
