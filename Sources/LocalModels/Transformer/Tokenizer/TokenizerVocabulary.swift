/// Everything a GGUF file says about its tokenizer (`tokenizer.ggml.*`, `tokenizer.chat_template`, `general.name`).
///
/// Values are kept as stored: an absent key stays `nil`, and `Tokenizer` applies llama.cpp's defaults for the model
/// type (SentencePiece: bos 1, eos 2, unk 0, add_bos true; BPE: bos = eos = 11, add_bos per pre-tokenizer). Reading
/// checks only what would make the vocabulary unusable (missing or mistyped arrays, counts that do not match), so
/// that a damaged file fails here with the key that is wrong rather than later with wrong ids.
public struct TokenizerVocabulary: Sendable {
    /// Where the vocabulary came from, for error messages.
    public var source: String
    /// `tokenizer.ggml.model`: "llama" (SentencePiece), "gpt2" (byte-level BPE), ...
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer of a BPE vocabulary ("llama-bpe", "qwen2", ...), if stored.
    public var pre: String?
    /// Token texts; the index is the token id.
    public var tokens: [String]
    /// Per-token scores (SentencePiece merge priority); zeros when the file has none.
    public var scores: [Float]
    /// Per-token types; `normal` for all when the file has none.
    public var types: [TokenType]
    /// BPE merges, "left right", highest priority first.
    public var merges: [String]
    public var bos: Int32?
    public var eos: Int32?
    public var eot: Int32?
    public var eom: Int32?
    public var unk: Int32?
    public var pad: Int32?
    /// Fill-in-the-middle pad, repository and file-separator tokens: llama.cpp ends generation on them.
    public var fimPad: Int32?
    public var fimRepo: Int32?
    public var fimSeparator: Int32?
    /// Fill-in-the-middle prefix, suffix and middle tokens, when the file names them.
    public var fimPrefix: Int32?
    public var fimSuffix: Int32?
    public var fimMiddle: Int32?
    public var addBOS: Bool?
    public var addEOS: Bool?
    public var addSpacePrefix: Bool?
    /// `tokenizer.chat_template`, the model's Jinja template.
    public var chatTemplate: String?
    /// `general.name`: llama.cpp gives Phi-3 models' special tokens their right-strip attribute by this name.
    public var modelName: String?

    /// A vocabulary built in code (tests, converted tokenizers). `scores` and `types` default as in a file without
    /// them.
    public init(
        model: String, pre: String? = nil, tokens: [String], scores: [Float]? = nil, types: [TokenType]? = nil,
        merges: [String] = [], source: String = "<memory>"
    ) {
        self.source = source
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.scores = scores ?? Array(repeating: 0, count: tokens.count)
        self.types = types ?? Array(repeating: .normal, count: tokens.count)
        self.merges = merges
    }

    /// Reads the tokenizer metadata of `gguf`. Throws `GGUFLoadError` naming the key that is missing or inconsistent.
    public init(gguf: GGUFFile) throws {
        let file = gguf.path
        func failure(_ key: String, _ reason: String) -> GGUFLoadError {
            GGUFLoadError(file: file, part: "metadata key \(key)", reason: reason)
        }
        guard let model = gguf.string("tokenizer.ggml.model") else {
            throw failure("tokenizer.ggml.model", "missing: the file has no tokenizer")
        }
        guard let tokenArray = gguf.array("tokenizer.ggml.tokens") else {
            throw failure("tokenizer.ggml.tokens", "missing: cannot find the tokenizer vocabulary")
        }
        guard let tokens = tokenArray.strings else {
            throw failure("tokenizer.ggml.tokens", "must be an array of strings")
        }
        self.init(model: model, pre: gguf.string("tokenizer.ggml.pre"), tokens: tokens, source: file)

        if let scores = gguf.array("tokenizer.ggml.scores") {
            let values: [Float]
            switch scores {
            case .float32(let floats): values = floats
            case .int32(let ints): values = ints.map(Float.init)
            default: throw failure("tokenizer.ggml.scores", "must be an array of float32 or int32")
            }
            self.scores = try Self.prefix(values, tokens.count, failure("tokenizer.ggml.scores", ""))
        }
        if let types = gguf.array("tokenizer.ggml.token_type") {
            guard case .int32(let values) = types else {
                throw failure("tokenizer.ggml.token_type", "must be an array of int32")
            }
            let raw = try Self.prefix(values, tokens.count, failure("tokenizer.ggml.token_type", ""))
            self.types = raw.map { TokenType(metadataValue: Int($0)) }
        }
        if let merges = gguf.array("tokenizer.ggml.merges") {
            guard let strings = merges.strings else {
                throw failure("tokenizer.ggml.merges", "must be an array of strings")
            }
            self.merges = strings
        } else if model == "gpt2" {
            throw failure("tokenizer.ggml.merges", "missing: a BPE vocabulary needs its merges")
        }

        func id(_ name: String) -> Int32? {
            gguf.integer("tokenizer.ggml.\(name)").flatMap { Int32(exactly: $0) }
        }
        bos = id("bos_token_id")
        eos = id("eos_token_id")
        eot = id("eot_token_id")
        eom = id("eom_token_id")
        unk = id("unknown_token_id")
        pad = id("padding_token_id")
        fimPad = id("fim_pad_token_id")
        fimRepo = id("fim_rep_token_id")
        fimSeparator = id("fim_sep_token_id")
        fimPrefix = id("fim_pre_token_id") ?? id("prefix_token_id")
        fimSuffix = id("fim_suf_token_id") ?? id("suffix_token_id")
        fimMiddle = id("fim_mid_token_id") ?? id("middle_token_id")
        addBOS = gguf.bool("tokenizer.ggml.add_bos_token")
        addEOS = gguf.bool("tokenizer.ggml.add_eos_token")
        addSpacePrefix = gguf.bool("tokenizer.ggml.add_space_prefix")
        chatTemplate = gguf.string("tokenizer.chat_template")
        modelName = gguf.string("general.name")
    }

    /// The first `count` values; fewer than `count` is an error (llama.cpp: "Index out of array bounds").
    private static func prefix<T>(_ values: [T], _ count: Int, _ error: GGUFLoadError) throws -> [T] {
        guard values.count >= count else {
            var error = error
            error.reason = "has \(values.count) entries for \(count) tokens"
            throw error
        }
        return values.count == count ? values : Array(values[..<count])
    }
}
