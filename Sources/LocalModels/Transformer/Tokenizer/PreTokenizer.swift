/// Splits text into the words that byte-level BPE merges within, as llama.cpp's `unicode_regex_split` does for
/// each `tokenizer.ggml.pre`.
///
/// Each pre-tokenizer is a list of stages; every stage splits the pieces the previous one left. The stages are
/// hand-written ports of llama.cpp's own splitters (its "custom" GPT-2, Llama 3, Qwen2 and Qwen3.5 regexes) and of
/// the simple `std::regex` patterns it runs on its "collapsed" text (one byte per scalar, categories standing in
/// for non-ASCII scalars), which makes them agree with llama.cpp rather than with the original Python regexes where
/// those differ. Only pre-tokenizers whose rules were checked against llama.cpp are listed in `named(_:)`.
struct PreTokenizer: Sendable {
    enum Stage: Sendable {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|...`
        case llama3
        /// As `llama3` with single digits (`\p{N}`).
        case qwen2
        /// As `qwen2` with combining marks joining letter runs (`[\p{L}\p{M}]+`).
        case qwen35
        /// `\p{N}`: every number scalar on its own.
        case isolateEachNumber
        /// `\p{N}+`
        case isolateNumberRuns
        /// `[\p{P}\$\+<=>\^~\|]+`
        case isolatePunctuationRuns
        /// `[\p{P}\$\+<=>\^~\|`]+` (Falcon: the backtick too)
        case isolatePunctuationAndBacktickRuns
        /// `[0-9][0-9][0-9]`
        case isolateDigitTriples
    }

    let name: String
    let stages: [Stage]
    /// llama3-style vocabularies take a whole word that is a token as is, before any merge.
    let ignoreMerges: Bool
    /// The default of `tokenizer.ggml.add_bos_token` for this pre-tokenizer.
    let addsBOSByDefault: Bool
    /// Whether decoding tidies " ," and " 's" (llama.cpp's `clean_spaces`).
    let cleansSpaces: Bool

    /// The pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre = name` (nil or "default": the default one), or nil
    /// when this engine does not implement it.
    static func named(_ name: String?) -> PreTokenizer? {
        let name = name ?? "default"
        func make(_ stages: [Stage], ignoreMerges: Bool = false, addBOS: Bool = false, clean: Bool = true)
            -> PreTokenizer
        {
            PreTokenizer(
                name: name, stages: stages, ignoreMerges: ignoreMerges, addsBOSByDefault: addBOS, cleansSpaces: clean)
        }
        switch name {
        case "default":
            return make([.isolatePunctuationRuns, .gpt2, .isolateNumberRuns, .isolateDigitTriples])
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
            "jina-v5-nano":
            return make([.llama3], ignoreMerges: true, addBOS: true)
        case "falcon":
            return make([.isolatePunctuationAndBacktickRuns, .gpt2, .isolateDigitTriples])
        case "dbrx", "smaug-bpe":
            return make([.llama3])
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
            "modern-bert", "exaone4", "mpt", "olmo", "jais":
            return make([.gpt2])
        case "trillion", "granite-docling":
            return make([.gpt2], clean: false)
        case "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2":
            return make([.isolateEachNumber, .gpt2])
        case "command-r", "smollm":
            return make([.isolateEachNumber, .gpt2], clean: false)
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2":
            return make([.qwen2], clean: false)
        case "stablelm2", "megrez":
            return make([.qwen2])
        case "qwen35":
            return make([.qwen35], clean: false)
        default:
            return nil
        }
    }

    /// Names `named(_:)` knows, for error messages.
    static let supportedNames = [
        "default", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
        "jina-v5-nano", "falcon", "dbrx", "smaug-bpe", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
        "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais", "trillion",
        "granite-docling", "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2", "command-r",
        "smollm", "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2", "stablelm2",
        "megrez", "qwen35",
    ]

    /// Word lengths, in scalars, covering `scalars` in order.
    func split(_ scalars: [UInt32], _ flags: [CodepointFlags]) -> [Int] {
        var pieces = scalars.isEmpty ? [] : [scalars.count]
        var next: [Int] = []
        for stage in stages {
            next.removeAll(keepingCapacity: true)
            next.reserveCapacity(pieces.count * 2)
            scalars.withUnsafeBufferPointer { text in
                flags.withUnsafeBufferPointer { flags in
                    var start = 0
                    for length in pieces {
                        let chunk = PreTokenizerChunk(text: text, flags: flags, start: start, end: start + length)
                        switch stage {
                        case .gpt2: chunk.splitGPT2(into: &next)
                        case .llama3: chunk.splitLlama3(digitRun: 3, marks: false, into: &next)
                        case .qwen2: chunk.splitLlama3(digitRun: 1, marks: false, into: &next)
                        case .qwen35: chunk.splitLlama3(digitRun: 1, marks: true, into: &next)
                        case .isolateEachNumber: chunk.isolate(into: &next) { $0.isNumber($1) ? 1 : 0 }
                        case .isolateNumberRuns: chunk.isolate(into: &next) { $0.run(from: $1, where: $0.isNumber) }
                        case .isolatePunctuationRuns:
                            chunk.isolate(into: &next) { $0.run(from: $1, where: $0.isPunctuationOrOperator) }
                        case .isolatePunctuationAndBacktickRuns:
                            chunk.isolate(into: &next) { $0.run(from: $1, where: $0.isPunctuationOperatorOrBacktick) }
                        case .isolateDigitTriples: chunk.isolate(into: &next) { $0.digitTriple(at: $1) }
                        }
                        start += length
                    }
                }
            }
            swap(&pieces, &next)
        }
        return pieces
    }
}
