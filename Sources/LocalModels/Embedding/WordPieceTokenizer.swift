/// BERT's tokenizer: Hugging Face's `BertNormalizer` + `BertPreTokenizer` + `WordPiece`, as a BERT model's
/// tokenizer.json describes it, with the vocabulary read from a GGUF file.
///
/// Special (control) tokens written in the text, such as `[SEP]`, are matched first on the raw text, as Hugging
/// Face's added tokens are. Each other segment is cleaned (NUL, U+FFFD and control/format/private-use characters
/// dropped, whitespace made a space), CJK ideographs are spaced out, accents are stripped (NFD, nonspacing marks
/// dropped) and the text lowercased when the model says so, then split on whitespace and around punctuation. Each
/// word becomes its longest vocabulary pieces from the left (`##` continuations after the first), or `[UNK]` when
/// it has more than 100 characters or a piece cannot be found. The result is `[CLS] pieces [SEP]`.
///
/// Vocabulary entries are compared as UTF-8 bytes, never as Swift strings, whose equality is canonical
/// equivalence: a precomposed and a decomposed "é" are different tokens to BERT.
public struct WordPieceTokenizer: Sendable {
    public let lowercase: Bool
    public let stripAccents: Bool
    public let classifyTokenID: Int32
    public let separatorTokenID: Int32
    public let unknownTokenID: Int32
    public let vocabularySize: Int

    /// Words longer than this many characters become `[UNK]` (WordPiece's `max_input_chars_per_word`).
    public static let maxWordCharacters = 100

    /// Pieces that begin a word, and continuation pieces (`##` removed), by their UTF-8 bytes.
    let wordStarts: [[UInt8]: Int32]
    let continuations: [[UInt8]: Int32]
    /// Control and user-defined tokens, matched in the raw text, longest first.
    let specials: [(bytes: [UInt8], id: Int32)]
    /// Bytes of the longest piece, so that longer candidates are never looked up.
    let longestPiece: Int

    /// `tokens` and `types` as a GGUF file stores them (llama.cpp's "phantom space" form: a word-initial piece is
    /// `\u{2581}piece`, a continuation is bare, control tokens as they are). A vocabulary with no `\u{2581}` piece
    /// at all is read in Hugging Face's form instead (`##` marks continuations).
    public init(
        tokens: [String],
        types: [Int]?,
        classifyTokenID: Int32,
        separatorTokenID: Int32,
        unknownTokenID: Int32,
        lowercase: Bool,
        stripAccents: Bool
    ) {
        let phantom: [UInt8] = [0xE2, 0x96, 0x81]
        let phantomForm = tokens.contains { $0.utf8.starts(with: phantom) }
        var starts: [[UInt8]: Int32] = [:]
        var continuations: [[UInt8]: Int32] = [:]
        var specials: [(bytes: [UInt8], id: Int32)] = []
        var longest = 0
        starts.reserveCapacity(tokens.count)
        continuations.reserveCapacity(tokens.count / 4)
        for (index, token) in tokens.enumerated() {
            let id = Int32(index)
            let bytes = Array(token.utf8)
            let type = types.flatMap { index < $0.count ? $0[index] : nil } ?? 1
            switch type {
            case 3, 4:  // control, user-defined: whole tokens in the text
                if !bytes.isEmpty { specials.append((bytes, id)) }
                continue
            case 5:  // unused
                continue
            default:
                break
            }
            var piece = bytes[...]
            let isStart: Bool
            if phantomForm {
                isStart = piece.starts(with: phantom)
                if isStart { piece = piece.dropFirst(phantom.count) }
            } else {
                isStart = !piece.starts(with: [0x23, 0x23])
                if !isStart { piece = piece.dropFirst(2) }
            }
            guard !piece.isEmpty else { continue }
            let key = Array(piece)
            longest = max(longest, key.count)
            if isStart {
                if starts[key] == nil { starts[key] = id }
            } else if continuations[key] == nil {
                continuations[key] = id
            }
        }
        specials.sort { $0.bytes.count > $1.bytes.count }
        self.wordStarts = starts
        self.continuations = continuations
        self.specials = specials
        self.longestPiece = longest
        self.classifyTokenID = classifyTokenID
        self.separatorTokenID = separatorTokenID
        self.unknownTokenID = unknownTokenID
        self.vocabularySize = tokens.count
        self.lowercase = lowercase
        self.stripAccents = stripAccents
    }

    /// `[CLS] pieces [SEP]`, keeping at most `maxLength` tokens in all (the pieces are cut at the end, as Hugging
    /// Face's truncation of a single sequence does).
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int32] {
        var ids: [Int32] = [classifyTokenID]
        let limit = maxLength.map { max(0, $0 - 2) } ?? Int.max
        var pieces = 0
        forEachPiece(of: text) { id in
            guard pieces < limit else { return false }
            ids.append(id)
            pieces += 1
            return true
        }
        ids.append(separatorTokenID)
        return ids
    }

    /// The pieces of `text` without `[CLS]` and `[SEP]`.
    public func pieces(of text: String) -> [Int32] {
        var ids: [Int32] = []
        forEachPiece(of: text) { id in
            ids.append(id)
            return true
        }
        return ids
    }

    /// Calls `body` with each piece id in order until it returns false.
    func forEachPiece(of text: String, _ body: (Int32) -> Bool) {
        var going = true
        forEachSegment(of: text) { segment in
            switch segment {
            case .special(let id):
                going = body(id)
            case .text(let range):
                let words = BertNormalizer.words(
                    of: text.unicodeScalars[range],
                    lowercase: lowercase,
                    stripAccents: stripAccents
                )
                for word in words {
                    for id in wordPieces(word) {
                        going = body(id)
                        if !going { break }
                    }
                    if !going { break }
                }
            }
            return going
        }
    }

    enum Segment {
        case text(Range<String.UTF8View.Index>)
        case special(Int32)
    }

    /// Splits the raw text around special tokens (leftmost, then longest).
    private func forEachSegment(of text: String, _ body: (Segment) -> Bool) {
        let utf8 = text.utf8
        guard !specials.isEmpty else {
            _ = body(.text(utf8.startIndex..<utf8.endIndex))
            return
        }
        var segmentStart = utf8.startIndex
        var index = utf8.startIndex
        while index < utf8.endIndex {
            var matched: (id: Int32, end: String.UTF8View.Index)?
            for special in specials where utf8[index] == special.bytes[0] {
                if utf8[index...].starts(with: special.bytes) {
                    matched = (special.id, utf8.index(index, offsetBy: special.bytes.count))
                    break
                }
            }
            guard let matched else {
                index = utf8.index(after: index)
                continue
            }
            if segmentStart < index, !body(.text(segmentStart..<index)) { return }
            if !body(.special(matched.id)) { return }
            segmentStart = matched.end
            index = matched.end
        }
        if segmentStart < utf8.endIndex { _ = body(.text(segmentStart..<utf8.endIndex)) }
    }

    /// Greedy longest-match-first WordPiece of one normalised word.
    func wordPieces(_ word: [Unicode.Scalar]) -> [Int32] {
        guard !word.isEmpty else { return [] }
        guard word.count <= Self.maxWordCharacters else { return [unknownTokenID] }
        var bytes: [UInt8] = []
        var boundaries: [Int] = [0]  // byte offset of each character, and the end
        bytes.reserveCapacity(word.count * 2)
        boundaries.reserveCapacity(word.count + 1)
        for scalar in word {
            bytes.append(contentsOf: UTF8.encode(scalar)!)
            boundaries.append(bytes.count)
        }
        var ids: [Int32] = []
        var start = 0
        let characters = word.count
        while start < characters {
            let table = start == 0 ? wordStarts : continuations
            var end = characters
            // Candidates longer than the longest piece cannot match.
            while end > start, boundaries[end] - boundaries[start] > longestPiece { end -= 1 }
            var found: Int32?
            while end > start {
                if let id = table[Array(bytes[boundaries[start]..<boundaries[end]])] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let found else { return [unknownTokenID] }
            ids.append(found)
            start = end
        }
        return ids
    }
}
