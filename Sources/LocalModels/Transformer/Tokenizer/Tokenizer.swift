/// Text to token ids and back, with the same results as llama.cpp for SentencePiece ("llama") and byte-level BPE
/// ("gpt2") vocabularies.
///
/// Everything is prepared once in `init` (lookup tables, special-token order, rendered pieces) so that encoding
/// allocates little and the tokenizer can be shared across threads.
public final class Tokenizer: Sendable {
    enum Kind: Sendable {
        case sentencePiece
        case bytePair(PreTokenizer)
    }

    public let vocabulary: TokenizerVocabulary
    let kind: Kind
    /// Token texts (ids `0 ..< vocabularySize`) followed by merge halves that are not tokens.
    let strings: ByteStringTable
    let scores: [Float]
    let attributes: [TokenAttributes]
    let ranks: MergeRankTable
    /// Control, user-defined and unknown tokens, longest text first: the order llama.cpp finds them in text.
    let specialTokens: [Int32]
    /// What each token renders as with `special: true` (llama.cpp's token-to-piece cache).
    let pieces: [[UInt8]]
    /// The token for each byte when a piece has no token of its own (SentencePiece <0xXX>, BPE byte characters).
    let byteTokens: [Int32]
    let endOfGeneration: Set<Int32>
    /// SentencePiece only: character pairs found inside tokens, where text may not be cut before merging.
    let adjacentCharacters: CharacterPairSet

    public var vocabularySize: Int { attributes.count }
    public let bos: Int32?
    public let eos: Int32?
    /// End of turn (`<|eot_id|>`, `<|im_end|>`, ...), from metadata or found by name as llama.cpp does.
    public let eot: Int32?
    public let eom: Int32?
    public let unk: Int32?
    public let pad: Int32?
    /// Whether `encode(addSpecial: true)` starts with bos / ends with eos.
    public let addsBOS: Bool
    public let addsEOS: Bool
    /// SentencePiece's space before the first word; decoding removes it again.
    public let addsSpacePrefix: Bool
    let cleansSpaces: Bool

    /// Prepares a tokenizer. Throws `GGUFLoadError` for a tokenizer model or pre-tokenizer this engine does not
    /// implement (llama.cpp refuses unknown ones too) and for duplicate token texts (llama.cpp aborts on them).
    public init(vocabulary: TokenizerVocabulary) throws {
        let setup = try TokenizerSetup(vocabulary)
        self.vocabulary = vocabulary
        kind = setup.kind
        strings = setup.strings
        scores = vocabulary.scores
        attributes = setup.attributes
        ranks = setup.ranks
        specialTokens = setup.specialTokens
        pieces = setup.pieces
        byteTokens = setup.byteTokens
        endOfGeneration = setup.endOfGeneration
        if case .sentencePiece = setup.kind {
            adjacentCharacters = CharacterPairSet(tokens: vocabulary.tokens)
        } else {
            adjacentCharacters = CharacterPairSet(tokens: [])
        }
        bos = setup.bos
        eos = setup.eos
        eot = setup.eot
        eom = setup.eom
        unk = setup.unk
        pad = setup.pad
        addsBOS = setup.addsBOS
        addsEOS = setup.addsEOS
        addsSpacePrefix = setup.addsSpacePrefix
        cleansSpaces = setup.cleansSpaces
    }

    /// Reads the vocabulary of `gguf` and prepares a tokenizer for it.
    public convenience init(gguf: GGUFFile) throws {
        try self.init(vocabulary: TokenizerVocabulary(gguf: gguf))
    }

    /// The pre-tokenizer's name for BPE vocabularies ("llama-bpe", "qwen2", ...), nil for SentencePiece.
    public var preTokenizer: String? {
        if case .bytePair(let pre) = kind { return pre.name }
        return nil
    }

    /// The type a token was given in the file.
    public func type(of token: Int32) -> TokenType? {
        vocabulary.types.indices.contains(Int(token)) ? vocabulary.types[Int(token)] : nil
    }

    /// Same ids as llama.cpp's llama_tokenize(text, add_special, parse_special).
    ///
    /// `addSpecial` adds bos/eos where the model wants them; `parseSpecial` turns control tokens written in the text
    /// (`<|im_start|>`) into their ids. User-defined tokens are always recognised, as in llama.cpp.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false) -> [Int32] {
        var bytes = Array(text.utf8)
        let fragments = bytes.isEmpty ? [] : partition(bytes, parseSpecial: parseSpecial)
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if addSpecial && addsBOS, let bos { output.append(bos) }
        switch kind {
        case .sentencePiece:
            var previousWasSpecial = true
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(id)
                    previousWasSpecial = true
                case .text(let range):
                    var piece: [UInt8] = []
                    piece.reserveCapacity(range.count + 4)
                    if addsSpacePrefix && previousWasSpecial { piece.append(contentsOf: Self.spaceMark) }
                    for b in bytes[range] {
                        if b == 0x20 { piece.append(contentsOf: Self.spaceMark) } else { piece.append(b) }
                    }
                    encodeSentencePiece(piece, into: &output)
                    previousWasSpecial = false
                }
            }
        case .bytePair(let pre):
            var session = BytePairSession(tokenizer: self, pre: pre)
            bytes.withUnsafeMutableBufferPointer { all in
                let all = UnsafeBufferPointer(all)
                for fragment in fragments {
                    switch fragment {
                    case .token(let id): output.append(id)
                    case .text(let range): session.encode(UnsafeBufferPointer(rebasing: all[range]), into: &output)
                    }
                }
            }
        }
        if addSpecial && addsEOS, let eos { output.append(eos) }
        return output
    }

    /// The bytes llama_token_to_piece gives (special tokens render as their text only when `special` is true).
    public func piece(_ token: Int32, special: Bool = false) -> [UInt8] {
        guard token >= 0 && Int(token) < pieces.count else { return [] }
        if !special && !attributes[Int(token)].isDisjoint(with: [.unknown, .control]) { return [] }
        return pieces[Int(token)]
    }

    /// End-of-generation tokens as llama.cpp's llama_vocab_is_eog (eos, eot, eom, and the known end tokens).
    public func isEndOfGeneration(_ token: Int32) -> Bool {
        endOfGeneration.contains(token)
    }

    /// "▁", SentencePiece's stand-in for a space.
    static let spaceMark: [UInt8] = [0xE2, 0x96, 0x81]

    /// The id of token text `bytes`, or -1 (strings that are only merge halves are not tokens).
    @inline(__always)
    func tokenID(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        let id = strings.find(bytes)
        return id < attributes.count ? id : -1
    }
}
