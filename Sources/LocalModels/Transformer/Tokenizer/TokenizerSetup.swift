/// What `Tokenizer.init` derives from a vocabulary, step by step in the order of llama.cpp's `llama_vocab::load`,
/// because later steps (special-token order, rendered pieces) depend on attributes that earlier ones change.
struct TokenizerSetup {
    var kind: Tokenizer.Kind
    var strings: ByteStringTable
    var attributes: [TokenAttributes]
    var ranks: MergeRankTable
    var specialTokens: [Int32] = []
    var pieces: [[UInt8]] = []
    var byteTokens: [Int32] = []
    var endOfGeneration: Set<Int32> = []
    var bos: Int32?
    var eos: Int32?
    var eot: Int32?
    var eom: Int32?
    var unk: Int32?
    var pad: Int32?
    var addsBOS: Bool
    var addsEOS = false
    var addsSpacePrefix: Bool
    var cleansSpaces: Bool

    private let texts: [String]

    init(_ vocabulary: TokenizerVocabulary) throws {
        let file = vocabulary.source
        switch vocabulary.model {
        case "llama":
            kind = .sentencePiece
            bos = 1
            eos = 2
            unk = 0
            addsBOS = true
            addsSpacePrefix = true
            cleansSpaces = false
        case "gpt2":
            guard let pre = PreTokenizer.named(vocabulary.pre) else {
                throw GGUFLoadError(
                    file: file, part: "metadata key tokenizer.ggml.pre",
                    reason: "unknown pre-tokenizer type '\(vocabulary.pre ?? "")'; this engine implements "
                        + PreTokenizer.supportedNames.joined(separator: ", "))
            }
            kind = .bytePair(pre)
            bos = 11
            eos = 11
            addsBOS = pre.addsBOSByDefault
            addsSpacePrefix = false
            cleansSpaces = pre.cleansSpaces
        default:
            throw GGUFLoadError(
                file: file, part: "metadata key tokenizer.ggml.model",
                reason: "unknown tokenizer '\(vocabulary.model)'; this engine implements 'llama' (SentencePiece) "
                    + "and 'gpt2' (byte-level BPE)")
        }
        if let prefix = vocabulary.addSpacePrefix { addsSpacePrefix = prefix }

        // Token texts; llama.cpp renames empty ones and cannot load a vocabulary with a text twice.
        let count = vocabulary.tokens.count
        texts = vocabulary.tokens.enumerated().map { $0.element.isEmpty ? "[EMPTY_\($0.offset)]" : $0.element }
        strings = ByteStringTable(capacity: count + vocabulary.merges.count / 4)
        for (id, text) in texts.enumerated() {
            guard strings.insert(Array(text.utf8)).inserted else {
                throw GGUFLoadError(
                    file: file, part: "metadata key tokenizer.ggml.tokens",
                    reason: "token \(id) repeats the text of token \(strings.find(Array(text.utf8))): '\(text)'")
            }
        }
        attributes = vocabulary.types.map(TokenAttributes.init)
        ranks = MergeRankTable(capacity: vocabulary.merges.count)
        if case .bytePair = kind { readMerges(vocabulary.merges) }

        // Special ids: defaults that do not fit are dropped, metadata that does not fit is ignored.
        func resolve(_ fallback: Int32?, _ stored: Int32?) -> Int32? {
            let fallback = fallback.flatMap { $0 >= 0 && Int($0) < count ? $0 : nil }
            guard let stored, stored >= 0, Int(stored) < count else { return fallback }
            return stored
        }
        bos = resolve(bos, vocabulary.bos)
        eos = resolve(eos, vocabulary.eos)
        eot = resolve(nil, vocabulary.eot)
        eom = resolve(nil, vocabulary.eom)
        unk = resolve(unk, vocabulary.unk)
        pad = resolve(nil, vocabulary.pad)
        if let add = vocabulary.addBOS { addsBOS = add }
        if let add = vocabulary.addEOS { addsEOS = add }

        detectByName(vocabulary)
        markUnused()
        collectEndOfGeneration(vocabulary)
        specialTokens = (0 ..< Int32(count))
            .filter { !attributes[Int($0)].isDisjoint(with: [.control, .userDefined, .unknown]) }
            .sorted { (texts[Int($0)].utf8.count, $1) > (texts[Int($1)].utf8.count, $0) }
        pieces = (0 ..< count).map(renderPiece)
        applyModelSpecificAttributes(vocabulary)
        byteTokens = (0 ..< 256).map(findByteToken)
    }

    /// The token whose text is exactly `name` (compared as bytes), if any.
    private func id(of name: String) -> Int32? {
        let id = strings.find(Array(name.utf8))
        return id >= 0 && Int(id) < attributes.count ? id : nil
    }

    /// Merge "a b" splits at the first space after the first byte; both halves get string ids.
    private mutating func readMerges(_ merges: [String]) {
        for (rank, merge) in merges.enumerated() {
            let bytes = Array(merge.utf8)
            guard bytes.count > 1, let space = bytes[1...].firstIndex(of: 0x20) else { continue }
            let left = strings.insert(Array(bytes[..<space])).id
            let right = strings.insert(Array(bytes[(space + 1)...])).id
            ranks.insertIfAbsent(left: left, right: right, rank: Int32(rank))
        }
    }

    /// The first token, in `names` order, that exists; it becomes a control token as in llama.cpp.
    private mutating func findControl(_ names: [String]) -> Int32? {
        for name in names {
            if let id = id(of: name) {
                attributes[Int(id)].insert(.control)
                return id
            }
        }
        return nil
    }

    /// llama.cpp finds end-of-turn, end-of-message and fill-in-the-middle tokens by their text when the file does
    /// not name them. (It walks a hash map, so with several candidates its pick is arbitrary; this takes the first
    /// in its list.)
    private mutating func detectByName(_ vocabulary: TokenizerVocabulary) {
        if eot == nil {
            eot = findControl([
                "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
                "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
            ])
        }
        if eom == nil { eom = findControl(["<|eom_id|>"]) }
        let count = attributes.count
        func stored(_ id: Int32?) -> Int32? { id.flatMap { $0 >= 0 && Int($0) < count ? $0 : nil } }
        if stored(vocabulary.fimPrefix) == nil {
            _ = findControl([
                "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
                "<|code_prefix|>", "<|prefix|>",
            ])
        }
        if stored(vocabulary.fimSuffix) == nil {
            _ = findControl([
                "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
                "<|code_suffix|>", "<|suffix|>",
            ])
        }
        if stored(vocabulary.fimMiddle) == nil {
            _ = findControl([
                "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
                "<|code_middle|>", "<|middle|>",
            ])
        }
        var fimEnds: [Int32] = []
        if let id = stored(vocabulary.fimPad)
            ?? findControl(["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"])
        {
            fimEnds.append(id)
        }
        if let id = stored(vocabulary.fimRepo)
            ?? findControl(["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"])
        {
            fimEnds.append(id)
        }
        if let id = stored(vocabulary.fimSeparator) ?? findControl(["<|file_sep|>"]) { fimEnds.append(id) }
        endOfGeneration.formUnion(fimEnds)
    }

    /// Control tokens with "unused" in their text are marked unused.
    private mutating func markUnused() {
        for (id, text) in texts.enumerated() where attributes[id].contains(.control) && text.contains("unused") {
            attributes[id].insert(.unused)
        }
    }

    private mutating func collectEndOfGeneration(_ vocabulary: TokenizerVocabulary) {
        let endNames = [
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
            "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
            "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
            "<｜end▁of▁sentence｜>", "[e~[",
        ]
        for name in endNames {
            if let id = id(of: name) {
                endOfGeneration.insert(id)
                attributes[Int(id)].insert(.control)
            }
        }
        // gpt-oss: these always render.
        for name in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let id = id(of: name) { attributes[Int(id)] = .userDefined }
        }
        for id in [eos, eot, eom] { if let id { endOfGeneration.insert(id) } }

        func present(_ name: String) -> Int32? {
            id(of: name).flatMap { endOfGeneration.contains($0) ? $0 : nil }
        }
        // Harmony (gpt-oss) and solar-open: "<|end|>" separates messages there, it does not end generation.
        let hasCall = present("<|call|>") != nil || present("<|calls|>") != nil
        if let end = present("<|end|>"), hasCall, present("<|return|>") != nil || present("<|flush|>") != nil {
            endOfGeneration.remove(end)
            attributes[Int(end)] = .userDefined
        }
        // Gemma 4 and PLaMo: "</s>" is an ordinary token.
        if let s = present("</s>"), present("<|tool_response>") != nil || present("<|plamo:eos|>") != nil {
            endOfGeneration.remove(s)
            attributes[Int(s)] = .normal
        }
    }

    /// llama_token_to_piece with special = true.
    private func renderPiece(_ index: Int) -> [UInt8] {
        let attribute = attributes[index]
        let text = texts[index]
        if !attribute.isDisjoint(with: [.unknown, .control, .userDefined]) { return Array(text.utf8) }
        if attribute.contains(.normal) {
            switch kind {
            case .sentencePiece:
                var bytes: [UInt8] = []
                let utf8 = Array(text.utf8)
                var i = 0
                while i < utf8.count {
                    if i + 2 < utf8.count && utf8[i] == 0xE2 && utf8[i + 1] == 0x96 && utf8[i + 2] == 0x81 {
                        bytes.append(0x20)
                        i += 3
                    } else {
                        bytes.append(utf8[i])
                        i += 1
                    }
                }
                return bytes
            case .bytePair:
                return ByteLevelEncoding.decode(text)
            }
        }
        if attribute.contains(.byte) { return [Self.byteValue(of: text)] }
        return []
    }

    /// The byte of a "<0xXX>" token: strtol over its 4th and 5th characters, as llama.cpp reads it.
    static func byteValue(of text: String) -> UInt8 {
        let utf8 = Array(text.utf8)
        var value = 0
        for c in utf8.dropFirst(3).prefix(2) {
            let digit: Int
            switch c {
            case 0x30 ... 0x39: digit = Int(c) - 0x30
            case 0x41 ... 0x46: digit = Int(c) - 0x37
            case 0x61 ... 0x66: digit = Int(c) - 0x57
            default: return UInt8(truncatingIfNeeded: value)
            }
            value = value * 16 + digit
        }
        return UInt8(truncatingIfNeeded: value)
    }

    /// Phi-3 (by `general.name`): special tokens swallow the whitespace after them, except <unk>, <s> and
    /// <|endoftext|>; </s> too.
    private mutating func applyModelSpecificAttributes(_ vocabulary: TokenizerVocabulary) {
        let name = (vocabulary.modelName ?? "").lowercased()
        guard name.contains("phi-3") || name.contains("phi3") else { return }
        for id in specialTokens { attributes[Int(id)].insert(.rightStrip) }
        if let id = id(of: "</s>") { attributes[Int(id)].insert(.rightStrip) }
        for text in ["<unk>", "<s>", "<|endoftext|>"] {
            if let id = id(of: text) { attributes[Int(id)].remove(.rightStrip) }
        }
    }

    /// llama_vocab::byte_to_token: "<0xXX>" (or the byte itself) for SentencePiece, the byte's character for BPE.
    private func findByteToken(_ byte: Int) -> Int32 {
        switch kind {
        case .sentencePiece:
            let hex = Array("0123456789ABCDEF".utf8)
            let name = [0x3C, 0x30, 0x78, hex[byte >> 4], hex[byte & 15], 0x3E] as [UInt8]
            let id = strings.find(name)
            if id >= 0 && id < attributes.count { return id }
            let single = strings.find([UInt8(byte)])
            return single < attributes.count ? single : -1
        case .bytePair:
            let id = strings.find(ByteLevelEncoding.encoded[byte])
            return id < attributes.count ? id : -1
        }
    }
}
