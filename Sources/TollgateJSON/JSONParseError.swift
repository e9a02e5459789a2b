/// Why a document was refused, and where. `offset` is a byte offset; `line` and `column`
/// are 1-based, the column counting Unicode scalars.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let unexpectedEndOfInput = Code("unexpected_end_of_input")
        public static let unexpectedCharacter = Code("unexpected_character")
        public static let invalidNumber = Code("invalid_number")
        public static let invalidEscape = Code("invalid_escape")
        public static let loneSurrogate = Code("lone_surrogate")
        public static let controlCharacter = Code("control_character")
        public static let invalidUTF8 = Code("invalid_utf8")
        public static let tooDeep = Code("too_deep")
    }

    public let code: Code
    public let offset: Int
    public let line: Int
    public let column: Int
    public let reason: String

    public var description: String {
        code == .unexpectedEndOfInput ? reason : "\(reason) at line \(line), column \(column)"
    }
}

extension JSONParseError {
    /// Line and column are counted only when an error is raised, keeping the happy path lean.
    init(bytes: UnsafeBufferPointer<UInt8>, offset: Int, code: Code, reason: String) {
        var line = 1
        var column = 1
        for byte in UnsafeBufferPointer(rebasing: bytes[0..<min(offset, bytes.count)]) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        self.init(code: code, offset: offset, line: line, column: column, reason: reason)
    }
}
