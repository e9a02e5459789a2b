/// Turns a token stream into text without ever splitting a UTF-8 sequence (byte tokens, BPE bytes).
///
/// A character can arrive in pieces (an emoji as four <0xXX> tokens, or two BPE tokens each holding half of it);
/// `append` returns only whole characters and keeps an unfinished sequence until the bytes that complete it arrive.
/// Bytes that can never form a character come out as U+FFFD. Pieces are llama_token_to_piece's (no space-prefix
/// removal, no clean-up), as llama.cpp's server streams them.
public struct StreamingTextDecoder {
    public let tokenizer: Tokenizer
    /// Whether control tokens render as their text.
    public let special: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, special: Bool = false) {
        self.tokenizer = tokenizer
        self.special = special
    }

    /// The text that `token` completes (possibly empty).
    public mutating func append(_ token: Int32) -> String {
        pending.append(contentsOf: tokenizer.piece(token, special: special))
        let ready = Self.completeLength(pending)
        guard ready > 0 else { return "" }
        let text = String(decoding: pending[..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// Whatever is still held back (an unfinished sequence becomes U+FFFD).
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// How many leading bytes can be emitted: all but an unfinished sequence at the end.
    static func completeLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        var back = 1
        while back <= min(3, count) {
            let byte = bytes[count - back]
            if byte & 0xC0 == 0x80 {
                back += 1
                continue
            }
            let needed: Int
            switch byte {
            case 0xC2 ... 0xDF: needed = 2
            case 0xE0 ... 0xEF: needed = 3
            case 0xF0 ... 0xF4: needed = 4
            default: needed = 1
            }
            return needed > back ? count - back : count
        }
        return count
    }
}
