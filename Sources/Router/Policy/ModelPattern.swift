/// A model name as written in a route's `models`: an exact name, or a glob where `*`
/// matches any run of characters (none included) and `?` matches exactly one.
///
/// Matching is case-sensitive, as upstream model names are.
public struct ModelPattern: Sendable, Hashable {
    /// The text as written in the policy file.
    public let pattern: String
    /// Whether the pattern holds `*` or `?`; exact names are matched by dictionary lookup.
    public let isGlob: Bool
    private let bytes: [UInt8]

    public init(_ pattern: String) {
        self.pattern = pattern
        self.bytes = Array(pattern.utf8)
        self.isGlob = bytes.contains(Self.star) || bytes.contains(Self.question)
    }

    /// Whether `model` is matched by the pattern.
    public func matches(_ model: String) -> Bool {
        guard isGlob else { return model == pattern }
        if let result = model.utf8.withContiguousStorageIfAvailable({ Self.glob(bytes, $0) }) {
            return result
        }
        return Self.glob(bytes, Array(model.utf8))
    }

    private static let star = UInt8(ascii: "*")
    private static let question = UInt8(ascii: "?")

    /// Iterative glob match with one backtracking point (the last `*`), linear in practice.
    /// Works on UTF-8 bytes; `?` and backtracking step over whole scalars so that a
    /// multi-byte character counts as one.
    private static func glob<Text: RandomAccessCollection<UInt8>>(_ pattern: [UInt8], _ text: Text) -> Bool
    where Text.Index == Int {
        var p = 0
        var t = text.startIndex
        var starP = -1
        var starT = t
        while t < text.endIndex {
            if p < pattern.count, pattern[p] == question {
                p += 1
                t = nextScalar(text, after: t)
            } else if p < pattern.count, pattern[p] == star {
                starP = p
                p += 1
                starT = t
            } else if p < pattern.count, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if starP >= 0 {
                p = starP + 1
                starT = nextScalar(text, after: starT)
                t = starT
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == star { p += 1 }
        return p == pattern.count
    }

    private static func nextScalar<Text: RandomAccessCollection<UInt8>>(_ text: Text, after i: Int) -> Int
    where Text.Index == Int {
        var next = i + 1
        // UTF-8 continuation bytes look like 0b10xxxxxx.
        while next < text.endIndex, text[next] & 0xC0 == 0x80 { next += 1 }
        return next
    }
}

extension ModelPattern: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        self.init(value)
    }
}

extension ModelPattern: CustomStringConvertible {
    public var description: String { pattern }
}

extension ModelPattern: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(pattern)
    }
}
