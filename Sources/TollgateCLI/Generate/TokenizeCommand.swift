import ArgumentParser
import Foundation
import LocalModels
import TollgateJSON

/// `tollgate tokenize`: the token ids a model's own tokenizer gives, as llama.cpp's would.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of TEXT under a GGUF model's tokenizer, as a JSON array.",
        discussion: "The BOS (and EOS) the model adds are included, as llama.cpp adds them. Only the tokenizer is read."
    )

    @Option(name: .long, help: "GGUF model file.")
    var model: String

    @Flag(name: .long, help: "Leave out the BOS/EOS tokens the model would add.")
    var noSpecial = false

    @Flag(name: .long, help: "Read special-token text in TEXT (\"<|im_start|>\") as those tokens.")
    var parseSpecial = false

    @Flag(name: .long, help: "Print each token's text next to its id.")
    var pieces = false

    @Argument(help: "The text to tokenize.")
    var text: String

    func run() throws {
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(gguf: try GGUFFile(path: model))
        } catch {
            throw ValidationError("\(error)")
        }
        let ids = tokenizer.encode(text, addSpecial: !noSpecial, parseSpecial: parseSpecial)
        if pieces {
            var out: [JSONValue] = []
            for id in ids {
                out.append(["id": .number(String(id)), "piece": .string(String(decoding: tokenizer.piece(id, special: true), as: UTF8.self))])
            }
            print(String(decoding: JSONWriter.bytes(.array(out)), as: UTF8.self))
        } else {
            print("[" + ids.map(String.init).joined(separator: ", ") + "]")
        }
    }
}
