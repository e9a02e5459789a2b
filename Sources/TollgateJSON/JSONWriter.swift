/// Serialises `JSONValue`s, in two flavours.
///
/// `write` and `bytes` are faithful: members in their order, numbers as their lexemes, no
/// whitespace. A parsed request written back is what the client meant, byte for byte apart
/// from escapes. `canonicalBytes` is the form cache keys are hashed from: two documents that
/// every JSON reader takes for the same value give the same bytes.
///
/// Strings are escaped the same way by both: only `"`, `\` and control characters, with the
/// short forms `\b \f \n \r \t` and lower-case `\u00xx` for the rest. Everything else,
/// `/` and non-ASCII included, is written as UTF-8.
public enum JSONWriter {
    public static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: nullBytes)
        case .bool(let flag): out.append(contentsOf: flag ? trueBytes : falseBytes)
        case .number(let lexeme): out.append(contentsOf: lexeme.utf8)
        case .string(let text): writeString(text, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for position in object.indices {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                writeString(object.keys[position], into: &out)
                out.append(UInt8(ascii: ":"))
                write(object.values[position], into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    /// Compact JSON with object keys sorted by their UTF-8 bytes and numbers normalised
    /// (see `canonicalNumber`), so `{"b":1.0,"a":1e0}` and `{"a":1,"b":1}` hash alike.
    public static func canonicalBytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        writeCanonical(value, into: &out)
        return out
    }

    /// The canonical spelling of a number lexeme.
    ///
    /// - Integer lexemes (no fraction, no exponent) keep every digit, `-0` becoming `0`.
    ///   Python's `json`, which most upstreams run, reads these as exact integers, so rounding
    ///   them through `Double` would merge different seeds above 2^53 into one cache entry.
    /// - Other lexemes are read as `Double`, as those upstreams do: integral values below 2^53
    ///   in magnitude are written as integers (`1.0`, `1e0`, `10E-1` give `1`), the rest in
    ///   Swift's shortest round-trip form (`0.5`, `1e-07`, `1e+20`).
    /// - A lexeme too large for `Double` (`1e400`) is kept as written.
    public static func canonicalNumber(_ lexeme: String) -> String {
        let isInteger = !lexeme.utf8.contains { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") }
        if isInteger { return lexeme == "-0" ? "0" : lexeme }
        guard let value = Double(lexeme), value.isFinite else { return lexeme }
        // Truncate-and-compare rather than `rounded()`, which would pull in libm.
        if value.magnitude < 9_007_199_254_740_992, Double(Int64(value)) == value {
            return String(Int64(value))
        }
        return value.description
    }

    private static func writeCanonical(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .number(let lexeme):
            out.append(contentsOf: canonicalNumber(lexeme).utf8)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                writeCanonical(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            let order = object.indices.sorted { utf8Precedes(object.keys[$0], object.keys[$1]) }
            out.append(UInt8(ascii: "{"))
            for (position, member) in order.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                writeString(object.keys[member], into: &out)
                out.append(UInt8(ascii: ":"))
                writeCanonical(object.values[member], into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .null, .bool, .string:
            write(value, into: &out)
        }
    }

    /// Copies runs that need no escape in one go, finding them eight bytes at a time; most
    /// strings are a single run.
    private static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            guard let base = utf8.baseAddress else { return }
            let raw = UnsafeRawPointer(base)
            var runStart = 0
            var position = 0
            while position < utf8.count {
                if position + 8 <= utf8.count {
                    if !needsEscape(raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)) {
                        position += 8
                        continue
                    }
                }
                let byte = base[position]
                if byte < 0x20 || byte == 0x22 || byte == 0x5C {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position]))
                    appendEscape(for: byte, into: &out)
                    runStart = position + 1
                }
                position += 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Whether any byte of the word is `"`, `\\` or a control character (SWAR tests, exact as to
    /// whether one exists; bytes above 0x7F never need escaping and never trigger them).
    @inline(__always)
    private static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let found =
            ((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes) | ((word &- ones &* 0x20) & ~word)
        return found & 0x8080_8080_8080_8080 != 0
    }

    private static func appendEscape(for byte: UInt8, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        switch byte {
        case 0x22: out.append(UInt8(ascii: "\""))
        case 0x5C: out.append(UInt8(ascii: "\\"))
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
    private static let nullBytes: [UInt8] = Array("null".utf8)
    private static let trueBytes: [UInt8] = Array("true".utf8)
    private static let falseBytes: [UInt8] = Array("false".utf8)
}
