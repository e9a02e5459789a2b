/// One problem in the policy files, located as precisely as the loader can.
///
/// Its ``description`` reads `policies/a.toml:12: routes[2].backends: unknown backend
/// 'vlm' (known: openai, vllm)`, the shape compilers use, so editors can jump to it.
public struct PolicyError: Error, Sendable, Hashable {
    /// A short, stable category, for tests and for clients that branch on it.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let description: String

        private init(_ description: String) {
            self.description = description
        }

        /// The file is not valid TOML.
        public static let syntax = Code("syntax")
        /// A key the format does not define (often a typo).
        public static let unknownKey = Code("unknown_key")
        /// A required key is absent.
        public static let missingKey = Code("missing_key")
        /// A value of the wrong TOML type.
        public static let wrongType = Code("wrong_type")
        /// A value of the right type that is not allowed (a bad URL, a zero weight).
        public static let invalidValue = Code("invalid_value")
        /// A name that refers to nothing (an unknown backend).
        public static let unknownReference = Code("unknown_reference")
        /// A name defined twice (a route or backend in two files).
        public static let duplicate = Code("duplicate")
        /// An alias that points at itself or at another alias.
        public static let aliasCycle = Code("alias_cycle")
    }

    public var code: Code
    /// The policy file, as given in ``PolicySource/path``.
    public var file: String
    /// 1-based; `nil` when the problem has no single line.
    public var line: Int?
    /// 1-based; only syntax errors have one.
    public var column: Int?
    /// Dotted path of the offending key, e.g. `routes[2].backends`; empty for syntax errors.
    public var key: String
    /// What is wrong and, where it helps, what was expected.
    public var reason: String

    public init(code: Code, file: String, line: Int?, column: Int? = nil, key: String, reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.reason = reason
    }
}

extension PolicyError: CustomStringConvertible {
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if line != nil, let column { text += ":\(column)" }
        text += ": "
        if !key.isEmpty { text += "\(key): " }
        return text + reason
    }
}

extension PolicyError: Encodable {
    enum CodingKeys: String, CodingKey {
        case code, file, line, column, key, reason
    }

    /// `{file, line, key, reason}` as `POST /admin/policies/reload` answers, plus the code
    /// and, for syntax errors, the column.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code.description, forKey: .code)
        try container.encode(file, forKey: .file)
        try container.encode(line, forKey: .line)
        try container.encodeIfPresent(column, forKey: .column)
        try container.encode(key, forKey: .key)
        try container.encode(reason, forKey: .reason)
    }
}
