extension WordPieceTokenizer {
    /// The tokenizer of a `bert` GGUF file: `tokenizer.ggml.model = "bert"`, the tokens and their types, the
    /// `[CLS]` (`bos`), `[SEP]` (`seperator`, else `eos`) and `[UNK]` ids. `tokenizer.bert.lowercase` and
    /// `tokenizer.bert.strip_accents` (written by scripts/minilm_gguf.py) say how to normalise; a file without
    /// them is taken as an uncased BERT (lowercase, strip accents), which is also what llama.cpp assumes.
    public init(gguf file: GGUFFile) throws {
        func error(_ key: String, _ reason: String) -> GGUFLoadError {
            GGUFLoadError(file: file.path, part: "metadata key \(key)", reason: reason)
        }
        let model = file.string("tokenizer.ggml.model")
        guard model == "bert" else {
            throw error("tokenizer.ggml.model", "\(model.map { "\"\($0)\"" } ?? "missing"), expected \"bert\" (WordPiece)")
        }
        guard let tokens = file.array("tokenizer.ggml.tokens")?.strings, !tokens.isEmpty else {
            throw error("tokenizer.ggml.tokens", "missing, empty or not strings")
        }
        var types: [Int]?
        if let array = file.array("tokenizer.ggml.token_type") {
            guard let integers = array.integers, integers.count == tokens.count else {
                throw error("tokenizer.ggml.token_type", "expected \(tokens.count) integers")
            }
            types = integers
        }
        func id(_ key: String, fallback: String?) throws -> Int32? {
            if let value = file.metadata[key] {
                guard let n = value.integer, n >= 0, n < tokens.count else {
                    throw error(key, "token id \(value) is outside the \(tokens.count)-token vocabulary")
                }
                return Int32(n)
            }
            return fallback.flatMap { name in tokens.firstIndex(of: name).map { Int32($0) } }
        }
        guard let cls = try id("tokenizer.ggml.bos_token_id", fallback: "[CLS]") else {
            throw error("tokenizer.ggml.bos_token_id", "missing, and there is no [CLS] token")
        }
        guard let sep = try id("tokenizer.ggml.seperator_token_id", fallback: nil)
            ?? id("tokenizer.ggml.eos_token_id", fallback: "[SEP]")
        else {
            throw error("tokenizer.ggml.seperator_token_id", "missing, and there is no eos or [SEP] token")
        }
        guard let unk = try id("tokenizer.ggml.unknown_token_id", fallback: "[UNK]") else {
            throw error("tokenizer.ggml.unknown_token_id", "missing, and there is no [UNK] token")
        }
        let lowercase = file.bool("tokenizer.bert.lowercase") ?? true
        self.init(
            tokens: tokens,
            types: types,
            classifyTokenID: cls,
            separatorTokenID: sep,
            unknownTokenID: unk,
            lowercase: lowercase,
            stripAccents: file.bool("tokenizer.bert.strip_accents") ?? lowercase
        )
    }
}
