/// Byte-level reading: whitespace, comments, keys, strings and scalars.
extension TOMLLineScanner {
    func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    /// Moves past one byte, counting lines.
    mutating func advance() {
        guard position < bytes.count else { return }
        if bytes[position] == UInt8(ascii: "\n") { line += 1 }
        position += 1
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        advance()
        return true
    }

    /// Spaces, tabs, comments and, when `newlines`, line breaks.
    mutating func skipTrivia(newlines: Bool) {
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                advance()
            case UInt8(ascii: "\n") where newlines:
                advance()
            case UInt8(ascii: "#"):
                while let next = peek(), next != UInt8(ascii: "\n") { advance() }
            default:
                return
            }
        }
    }

    /// After a top-level statement: the rest of the line must be blank or a comment;
    /// anything else is skipped. Always makes progress.
    mutating func finishLine(progressFrom start: Int) {
        skipTrivia(newlines: false)
        if position == start { advance() }
        while let byte = peek(), byte != UInt8(ascii: "\n") { advance() }
    }

    /// A dotted key (`a."b.c".'d'`) as its parts, or `nil` if there is none here.
    mutating func readKey() -> [String]? {
        var keys: [String] = []
        while true {
            skipTrivia(newlines: false)
            guard let byte = peek() else { break }
            let key: String?
            switch byte {
            case UInt8(ascii: "\""): key = readBasicStringKey()
            case UInt8(ascii: "'"): key = readLiteralStringKey()
            default: key = readBareKey()
            }
            guard let key else { return nil }
            keys.append(key)
            skipTrivia(newlines: false)
            guard consume(UInt8(ascii: ".")) else { break }
        }
        return keys.isEmpty ? nil : keys
    }

    private mutating func readBareKey() -> String? {
        let start = position
        while let byte = peek(), TOMLKeyPath.isBareKeyByte(byte) || byte >= 0x80 { advance() }
        return position > start ? String(decoding: bytes[start..<position], as: UTF8.self) : nil
    }

    /// `"..."` with escapes decoded, so quoted keys compare equal to what the parser saw.
    mutating func readBasicStringKey() -> String? {
        advance()
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll()
        }
        while let byte = peek(), byte != UInt8(ascii: "\n") {
            advance()
            if byte == UInt8(ascii: "\"") {
                flush()
                return String(scalars)
            }
            guard byte == UInt8(ascii: "\\"), let escaped = peek() else {
                raw.append(byte)
                continue
            }
            advance()
            flush()
            switch escaped {
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "b"): scalars.append("\u{8}")
            case UInt8(ascii: "f"): scalars.append("\u{C}")
            case UInt8(ascii: "e"): scalars.append("\u{1B}")
            case UInt8(ascii: "u"): scalars.append(readHexScalar(digits: 4))
            case UInt8(ascii: "U"): scalars.append(readHexScalar(digits: 8))
            default: scalars.append(Unicode.Scalar(escaped))
            }
        }
        return nil
    }

    mutating func readLiteralStringKey() -> String? {
        advance()
        let start = position
        while let byte = peek(), byte != UInt8(ascii: "\n") {
            if byte == UInt8(ascii: "'") {
                let key = String(decoding: bytes[start..<position], as: UTF8.self)
                advance()
                return key
            }
            advance()
        }
        return nil
    }

    private mutating func readHexScalar(digits: Int) -> Unicode.Scalar {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let byte = peek(), let digit = UInt32(String(Unicode.Scalar(byte)), radix: 16) else { break }
            value = value * 16 + digit
            advance()
        }
        return Unicode.Scalar(value) ?? "\u{FFFD}"
    }

    /// Any string value, multi-line forms included, counting the lines inside.
    mutating func skipString() {
        guard let quote = peek() else { return }
        let isBasic = quote == UInt8(ascii: "\"")
        if peek(1) == quote, peek(2) == quote {
            for _ in 0..<3 { advance() }
            while let byte = peek() {
                if isBasic, byte == UInt8(ascii: "\\") {
                    advance()
                    advance()
                } else if byte == quote, peek(1) == quote, peek(2) == quote {
                    for _ in 0..<3 { advance() }
                    // Up to two more quotes may close the string: `""""` ends with a quote inside.
                    for _ in 0..<2 where peek() == quote { advance() }
                    return
                } else {
                    advance()
                }
            }
            return
        }
        advance()
        while let byte = peek(), byte != UInt8(ascii: "\n") {
            advance()
            if byte == quote { return }
            if isBasic, byte == UInt8(ascii: "\\") { advance() }
        }
    }

    /// Numbers, booleans, dates: up to the next delimiter.
    mutating func skipScalar() {
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "\n"), UInt8(ascii: "#"):
                return
            default:
                advance()
            }
        }
    }
}
