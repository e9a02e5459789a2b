/// Which two characters appear side by side inside some token (characters as `Tokenizer.characterKey` packs them).
///
/// A SentencePiece merge that joins two characters needs a token holding both, so text can be cut wherever the
/// pair is absent without changing the result.
struct CharacterPairSet: Sendable {
    private var table: MergeRankTable

    init(tokens: [String]) {
        table = MergeRankTable(capacity: tokens.reduce(0) { $0 + $1.utf8.count })
        for token in tokens {
            let bytes = Array(token.utf8)
            bytes.withUnsafeBufferPointer { text in
                var previous: UInt32?
                var offset = 0
                while offset < text.count {
                    let length = min(Tokenizer.utf8Length(text[offset]), text.count - offset)
                    let character = Tokenizer.characterKey(text, offset, length)
                    if let previous {
                        table.insertIfAbsent(
                            left: Int32(bitPattern: previous), right: Int32(bitPattern: character), rank: 0)
                    }
                    previous = character
                    offset += length
                }
            }
        }
    }

    @inline(__always)
    func contains(_ first: UInt32, _ second: UInt32) -> Bool {
        table.rank(left: Int32(bitPattern: first), right: Int32(bitPattern: second)) >= 0
    }
}
