extension Tokenizer {
    /// Text of `tokens` as llama.cpp's llama_detokenize(remove_special: false, unparse_special: special) gives it:
    /// the pieces joined, the SentencePiece space prefix removed from the first one, and, for vocabularies that ask
    /// for it (`clean_spaces`), " ?", " !", " .", " ,", " ' " and " 's"-style spaces tidied. Bytes that are not
    /// UTF-8 become U+FFFD.
    public func decode(_ tokens: [Int32], special: Bool = false) -> String {
        String(decoding: decodeBytes(tokens, special: special), as: UTF8.self)
    }

    /// The bytes `decode` turns into text.
    public func decodeBytes(_ tokens: [Int32], special: Bool = false) -> [UInt8] {
        var text: [UInt8] = []
        var removeSpace = addsSpacePrefix
        for token in tokens {
            let bytes = piece(token, special: special)
            if removeSpace && bytes.first == 0x20 {
                text.append(contentsOf: bytes.dropFirst())
            } else {
                text.append(contentsOf: bytes)
            }
            removeSpace = false
        }
        if cleansSpaces { Self.cleanSpaces(&text) }
        return text
    }

    /// llama.cpp's three clean-up passes, in place and byte for byte (each pass reads the buffer it is rewriting).
    static func cleanSpaces(_ text: inout [UInt8]) {
        let space = UInt8(ascii: " ")
        let quote = UInt8(ascii: "'")
        // " ?", " !", " .", " ,"
        var total1 = text.count
        var total = total1 > 0 ? 1 : 0
        for i in stride(from: 1, to: total1, by: 1) {
            let x = text[i]
            if text[i - 1] == space && (x == UInt8(ascii: "?") || x == UInt8(ascii: "!") || x == UInt8(ascii: ".")
                || x == UInt8(ascii: ","))
            {
                total -= 1
            }
            text[total] = x
            total += 1
        }
        // " ' "
        let total2 = total
        total = total2 > 0 ? 1 : 0
        var i = 1
        while i < total2 {
            let x = text[i]
            if x == quote && i + 1 < total2 && text[i - 1] == space && text[i + 1] == space {
                total -= 1
                i += 1
                text[i] = 0
            }
            text[total] = x
            total += 1
            i += 1
        }
        // " 's", " 'm", " 're", " 've"
        let total3 = total
        total = total3 > 0 ? 1 : 0
        for i in stride(from: 1, to: total3, by: 1) {
            let x = text[i]
            if text[i - 1] == space && x == quote && i + 1 < total3 {
                let x1 = text[i + 1]
                if x1 == UInt8(ascii: "s") || x1 == UInt8(ascii: "m") {
                    total -= 1
                } else if x1 != UInt8(ascii: "t") && x1 != UInt8(ascii: "d") && i + 2 < total3 {
                    let x2 = text[i + 2]
                    if (x1 == UInt8(ascii: "r") || x1 == UInt8(ascii: "v")) && x2 == UInt8(ascii: "e") { total -= 1 }
                }
            }
            text[total] = x
            total += 1
        }
        total1 = total
        text.removeSubrange(total1...)
    }
}
