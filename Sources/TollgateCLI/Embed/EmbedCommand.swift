import ArgumentParser
import Foundation
import LocalModels

/// `tollgate embed`: embeddings from a BERT GGUF model without a server, on the engine the gateway runs.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print one embedding (a JSON array of floats) per text, one per line.",
        discussion: """
            The model is a `bert` GGUF file, such as models/all-minilm-l6-v2-q8_0.gguf from scripts/setup.sh. \
            Each vector is mean-pooled and L2-normalised; texts longer than the model's context are cut to it. \
            --tokens prints each text's token ids instead.
            """
    )

    @Option(name: .long, help: "bert GGUF model file.") var model: String
    @Option(name: .long, help: "Threads (0 = one per core).") var threads = 0
    @Flag(name: .long, help: "Print the token ids of each text instead of its embedding.") var tokens = false
    @Argument(help: "The texts.") var texts: [String]

    func run() async throws {
        let encoder: BertEncoder
        do {
            encoder = try BertEncoder(path: model, threads: threads)
        } catch {
            throw ValidationError("\(error)")
        }
        var output = ""
        if tokens {
            for text in texts {
                output += "[" + encoder.tokenize(text).map(String.init).joined(separator: ",") + "]\n"
            }
        } else {
            let engine = EmbeddingEngine(encoder: encoder)
            defer { engine.shutdown() }
            let result: EmbeddingResult
            do {
                result = try await engine.embed(texts)
            } catch {
                throw ValidationError(error.message)
            }
            for vector in result.vectors { output += Self.json(vector) + "\n" }
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }

    /// `[f0,f1,...]` with each float's shortest round-trip decimal form.
    static func json(_ vector: [Float]) -> String {
        "[" + vector.map { $0.isFinite ? "\($0)" : "0" }.joined(separator: ",") + "]"
    }
}
