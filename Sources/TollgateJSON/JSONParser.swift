/// A strict RFC 8259 parser working on bytes.
///
/// Strict because the cache key is computed from what this parser accepts: anything an
/// upstream might read differently (invalid UTF-8, lone surrogates, `01`, trailing garbage)
/// is refused rather than guessed at. Strings without escapes are copied straight from the
/// input; nesting is capped so hostile input cannot exhaust the stack.
///
/// Duplicate object keys are accepted with the last value winning, in the first key's
/// position: that is how Python's `json` (and so most upstreams) reads them.
public enum JSONParser {
    /// Arrays and objects nested deeper than this are refused.
    public static let maxDepth = 256

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var reader = Reader(bytes.assumingMemoryBound(to: UInt8.self))
        reader.skipWhitespace()
        let value = try reader.parseValue(depth: 0)
        reader.skipWhitespace()
        if reader.index < reader.bytes.count {
            throw reader.error(.unexpectedCharacter, reader.unexpectedReason())
        }
        return value
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(JSONParseError) in try parse(raw) } }
        return try result.get()
    }

    public static func parse(_ string: String) throws(JSONParseError) -> JSONValue {
        var string = string
        let result = string.withUTF8 { utf8 in
            Result { () throws(JSONParseError) in try parse(UnsafeRawBufferPointer(utf8)) }
        }
        return try result.get()
    }
}

extension JSONParser {
    fileprivate struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case .space, .tab, .newline, .carriageReturn: index += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
            guard index < bytes.count else { throw endOfInput() }
            switch bytes[index] {
            case .quote:
                index += 1
                return .string(try parseString())
            case .openBrace: return try parseObject(depth: depth + 1)
            case .openBracket: return try parseArray(depth: depth + 1)
            case .minus, .zero ... .nine: return .number(try parseNumber())
            case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
            case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
            case UInt8(ascii: "n"): return try parseLiteral("null", .null)
            default: throw error(.unexpectedCharacter, unexpectedReason())
            }
        }

        private mutating func parseLiteral(_ word: StaticString, _ value: JSONValue) throws(JSONParseError) -> JSONValue
        {
            let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
            for byte in expected {
                guard index < bytes.count else { throw endOfInput() }
                guard bytes[index] == byte else { throw error(.unexpectedCharacter, unexpectedReason()) }
                index += 1
            }
            return value
        }

        private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth <= JSONParser.maxDepth else {
                throw error(.tooDeep, "nesting deeper than \(JSONParser.maxDepth) levels")
            }
            index += 1
            var keys: [String] = []
            var values: [JSONValue] = []
            skipWhitespace()
            if try peek() == .closeBrace {
                index += 1
                return .object(JSONObject())
            }
            while true {
                guard try peek() == .quote else { throw error(.unexpectedCharacter, unexpectedReason()) }
                index += 1
                let key = try parseString()
                skipWhitespace()
                guard try peek() == .colon else { throw error(.unexpectedCharacter, unexpectedReason()) }
                index += 1
                skipWhitespace()
                keys.append(key)
                values.append(try parseValue(depth: depth))
                skipWhitespace()
                switch try peek() {
                case .comma:
                    index += 1
                    skipWhitespace()
                case .closeBrace:
                    index += 1
                    return .object(Self.uniqued(keys: keys, values: values))
                default:
                    throw error(.unexpectedCharacter, unexpectedReason())
                }
            }
        }

        private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth <= JSONParser.maxDepth else {
                throw error(.tooDeep, "nesting deeper than \(JSONParser.maxDepth) levels")
            }
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if try peek() == .closeBracket {
                index += 1
                return .array(elements)
            }
            while true {
                elements.append(try parseValue(depth: depth))
                skipWhitespace()
                switch try peek() {
                case .comma:
                    index += 1
                    skipWhitespace()
                case .closeBracket:
                    index += 1
                    return .array(elements)
                default:
                    throw error(.unexpectedCharacter, unexpectedReason())
                }
            }
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as its lexeme.
        private mutating func parseNumber() throws(JSONParseError) -> String {
            let start = index
            if bytes[index] == .minus { index += 1 }
            switch try peek() {
            case .zero:
                index += 1
                if index < bytes.count, bytes[index].isDigit {
                    throw error(.invalidNumber, "leading zero in number")
                }
            case .one ... .nine:
                skipDigits()
            default:
                throw error(.invalidNumber, "expected a digit in number")
            }
            if index < bytes.count, bytes[index] == .period {
                index += 1
                try requireDigits()
            }
            if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
                index += 1
                if index < bytes.count, bytes[index] == .plus || bytes[index] == .minus { index += 1 }
                try requireDigits()
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }

        private mutating func requireDigits() throws(JSONParseError) {
            guard try peek().isDigit else { throw error(.invalidNumber, "expected a digit in number") }
            skipDigits()
        }

        private mutating func skipDigits() {
            while index < bytes.count, bytes[index].isDigit { index += 1 }
        }

        /// Reads a string body; `index` is just past the opening quote. Without escapes the bytes
        /// are scanned eight at a time and copied once; with them, the runs between escapes are
        /// gathered first. Non-ASCII runs are validated here so that an error can say where.
        private mutating func parseString() throws(JSONParseError) -> String {
            let start = index
            try scanPlainRun()
            guard index < bytes.count else { throw endOfInput() }
            switch bytes[index] {
            case .quote:
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            case .backslash:
                return try parseEscapedString(from: start)
            default:
                throw controlCharacter()
            }
        }

        private mutating func parseEscapedString(from start: Int) throws(JSONParseError) -> String {
            var buffer: [UInt8] = []
            buffer.reserveCapacity(index - start + 64)
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while true {
                try parseEscape(into: &buffer)
                let runStart = index
                try scanPlainRun()
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                guard index < bytes.count else { throw endOfInput() }
                switch bytes[index] {
                case .quote:
                    index += 1
                    return String(decoding: buffer, as: UTF8.self)
                case .backslash:
                    continue
                default:
                    throw controlCharacter()
                }
            }
        }

        /// Moves `index` to the first quote, backslash or control character (or the end of
        /// input), refusing ill-formed UTF-8 on the way. Eight bytes at a time while they are
        /// plain ASCII.
        @inline(__always)
        private mutating func scanPlainRun() throws(JSONParseError) {
            guard let base = bytes.baseAddress else { return }
            let raw = UnsafeRawPointer(base)
            var position = index
            while true {
                while position + 8 <= bytes.count {
                    let word = raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)
                    if Self.needsAttention(word) { break }
                    position += 8
                }
                guard position < bytes.count else { break }
                let byte = base[position]
                if byte == .quote || byte == .backslash || byte < 0x20 { break }
                if byte < 0x80 {
                    position += 1
                } else if let length = Self.sequenceLength(bytes, at: position) {
                    position += length
                } else {
                    index = position
                    throw error(.invalidUTF8, "invalid UTF-8")
                }
            }
            index = position
        }

        /// Whether any byte of the word is `"`, `\`, below 0x20 or above 0x7F (the classic SWAR
        /// zero-byte and less-than tests, exact as to whether such a byte exists).
        @inline(__always)
        private static func needsAttention(_ word: UInt64) -> Bool {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            let quotes = word ^ (ones &* 0x22)
            let backslashes = word ^ (ones &* 0x5C)
            let hasQuote = (quotes &- ones) & ~quotes
            let hasBackslash = (backslashes &- ones) & ~backslashes
            let hasControl = (word &- ones &* 0x20) & ~word
            return (hasQuote | hasBackslash | hasControl | word) & highs != 0
        }

        private func controlCharacter() -> JSONParseError {
            error(.controlCharacter, "unescaped control character \(Self.codePoint(bytes[index])) in string")
        }

        /// The length of the well-formed UTF-8 sequence at `position`, or nil (overlong forms,
        /// surrogates, values past U+10FFFF, truncation).
        private static func sequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> Int? {
            let byte = bytes[position]
            let (length, secondLow, secondHigh): (Int, UInt8, UInt8)
            switch byte {
            case 0x00..<0x80: return 1
            case 0xC2...0xDF: (length, secondLow, secondHigh) = (2, 0x80, 0xBF)
            case 0xE0: (length, secondLow, secondHigh) = (3, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (length, secondLow, secondHigh) = (3, 0x80, 0xBF)
            case 0xED: (length, secondLow, secondHigh) = (3, 0x80, 0x9F)
            case 0xF0: (length, secondLow, secondHigh) = (4, 0x90, 0xBF)
            case 0xF1...0xF3: (length, secondLow, secondHigh) = (4, 0x80, 0xBF)
            case 0xF4: (length, secondLow, secondHigh) = (4, 0x80, 0x8F)
            default: return nil
            }
            guard position + length <= bytes.count, (secondLow...secondHigh).contains(bytes[position + 1]) else {
                return nil
            }
            for offset in 2..<length where bytes[position + offset] & 0xC0 != 0x80 { return nil }
            return length
        }

        private mutating func parseEscape(into buffer: inout [UInt8]) throws(JSONParseError) {
            index += 1
            let escaped = try peek()
            switch escaped {
            case .quote, .backslash, .slash: buffer.append(escaped)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(.newline)
            case UInt8(ascii: "r"): buffer.append(.carriageReturn)
            case UInt8(ascii: "t"): buffer.append(.tab)
            case UInt8(ascii: "u"):
                index -= 1
                appendUTF8(try parseUnicodeEscape(), to: &buffer)
                return
            default:
                throw error(.invalidEscape, "invalid escape \(Self.printable(escaped)) after backslash")
            }
            index += 1
        }

        /// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`; `index` is at the backslash.
        private mutating func parseUnicodeEscape() throws(JSONParseError) -> UInt32 {
            let start = index
            let first = try readHexEscape()
            switch first {
            case 0xD800...0xDBFF:
                let resume = index
                if index + 1 < bytes.count, bytes[index] == .backslash, bytes[index + 1] == UInt8(ascii: "u") {
                    let second = try readHexEscape()
                    if (0xDC00...0xDFFF).contains(second) {
                        return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    }
                }
                index = resume
                throw loneSurrogate(first, at: start)
            case 0xDC00...0xDFFF:
                throw loneSurrogate(first, at: start)
            default:
                return first
            }
        }

        private mutating func readHexEscape() throws(JSONParseError) -> UInt32 {
            let start = index
            index += 2
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = try peek()
                let digit: UInt8
                switch byte {
                case .zero ... .nine: digit = byte - .zero
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default:
                    index = start
                    throw error(.invalidEscape, "invalid \\u escape")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        private func loneSurrogate(_ value: UInt32, at offset: Int) -> JSONParseError {
            let hex = String(value, radix: 16, uppercase: true)
            return JSONParseError(
                bytes: bytes,
                offset: offset,
                code: .loneSurrogate,
                reason: "lone surrogate \\u\(hex)"
            )
        }

        private func appendUTF8(_ scalar: UInt32, to buffer: inout [UInt8]) {
            switch scalar {
            case 0..<0x80:
                buffer.append(UInt8(scalar))
            case 0x80..<0x800:
                buffer.append(UInt8(0xC0 | scalar >> 6))
                buffer.append(UInt8(0x80 | scalar & 0x3F))
            case 0x800..<0x10000:
                buffer.append(UInt8(0xE0 | scalar >> 12))
                buffer.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                buffer.append(UInt8(0x80 | scalar & 0x3F))
            default:
                buffer.append(UInt8(0xF0 | scalar >> 18))
                buffer.append(UInt8(0x80 | scalar >> 12 & 0x3F))
                buffer.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                buffer.append(UInt8(0x80 | scalar & 0x3F))
            }
        }

        private func peek() throws(JSONParseError) -> UInt8 {
            guard index < bytes.count else { throw endOfInput() }
            return bytes[index]
        }

        /// Keeps the first position of a repeated key and the last value given for it.
        private static func uniqued(keys: [String], values: [JSONValue]) -> JSONObject {
            guard hasDuplicates(keys) else { return JSONObject(uniqueKeys: keys, values: values) }
            var object = JSONObject()
            for (key, value) in zip(keys, values) { object[key] = value }
            return object
        }

        /// Pairwise for the few members request objects have, hashed beyond that.
        private static func hasDuplicates(_ keys: [String]) -> Bool {
            if keys.count <= 16 {
                for i in keys.indices.dropFirst() {
                    for j in 0..<i where sameUTF8(keys[i], keys[j]) { return true }
                }
                return false
            }
            var seen = Set<UTF8Key>(minimumCapacity: keys.count)
            return keys.contains { !seen.insert(UTF8Key($0)).inserted }
        }

        func error(_ code: JSONParseError.Code, _ reason: String) -> JSONParseError {
            JSONParseError(bytes: bytes, offset: index, code: code, reason: reason)
        }

        func endOfInput() -> JSONParseError {
            error(.unexpectedEndOfInput, "unexpected end of input")
        }

        func unexpectedReason() -> String {
            let byte = bytes[index]
            if byte >= 0x80 { return "unexpected byte 0x\(String(byte, radix: 16, uppercase: true))" }
            return "unexpected character \(Self.printable(byte))"
        }

        private static func printable(_ byte: UInt8) -> String {
            byte >= 0x20 && byte < 0x7F ? "'\(UnicodeScalar(byte))'" : codePoint(byte)
        }

        private static func codePoint(_ byte: UInt8) -> String {
            let hex = String(byte, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }

    /// Hashes and compares keys by their bytes, as JSON does (not by canonical equivalence).
    private struct UTF8Key: Hashable {
        let string: String
        init(_ string: String) { self.string = string }

        static func == (lhs: UTF8Key, rhs: UTF8Key) -> Bool { sameUTF8(lhs.string, rhs.string) }

        func hash(into hasher: inout Hasher) {
            var string = string
            string.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }
}

extension UInt8 {
    fileprivate static let tab = UInt8(ascii: "\t")
    fileprivate static let newline = UInt8(ascii: "\n")
    fileprivate static let carriageReturn = UInt8(ascii: "\r")
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let quote = UInt8(ascii: "\"")
    fileprivate static let plus = UInt8(ascii: "+")
    fileprivate static let comma = UInt8(ascii: ",")
    fileprivate static let minus = UInt8(ascii: "-")
    fileprivate static let period = UInt8(ascii: ".")
    fileprivate static let slash = UInt8(ascii: "/")
    fileprivate static let zero = UInt8(ascii: "0")
    fileprivate static let one = UInt8(ascii: "1")
    fileprivate static let nine = UInt8(ascii: "9")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let openBracket = UInt8(ascii: "[")
    fileprivate static let backslash = UInt8(ascii: "\\")
    fileprivate static let closeBracket = UInt8(ascii: "]")
    fileprivate static let openBrace = UInt8(ascii: "{")
    fileprivate static let closeBrace = UInt8(ascii: "}")

    fileprivate var isDigit: Bool { self >= .zero && self <= .nine }
}
