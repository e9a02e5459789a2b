import TollgateJSON

/// A value of an XGBoost model document and its path from the root, so that every complaint
/// names the member it is about ("learner.gradient_booster.model.trees[3].split_conditions").
struct XGBoostField {
    let value: JSONValue
    let path: String
    let file: String

    func fail(_ reason: String) -> ForestLoadError {
        ForestLoadError(file: file, part: path, reason: reason)
    }

    func member(_ key: String) throws(ForestLoadError) -> XGBoostField {
        guard let field = optionalMember(key) else {
            guard value.objectValue != nil else { throw fail("expected an object, found \(kind)") }
            throw fail("missing member \"\(key)\"")
        }
        return field
    }

    /// The member when this is an object holding it; nil otherwise.
    func optionalMember(_ key: String) -> XGBoostField? {
        guard let member = value[key] else { return nil }
        return XGBoostField(value: member, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    func elements() throws(ForestLoadError) -> [XGBoostField] {
        guard let array = value.arrayValue else { throw fail("expected an array, found \(kind)") }
        return array.enumerated().map { XGBoostField(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    func string() throws(ForestLoadError) -> String {
        guard let string = value.stringValue else { throw fail("expected a string, found \(kind)") }
        return string
    }

    /// An integer written as a number or, as XGBoost writes its parameters, as a string ("3").
    func integer() throws(ForestLoadError) -> Int {
        switch value {
        case .number:
            if let integer = value.intValue { return integer }
        case .string(let text):
            if let integer = Int(text) { return integer }
        default:
            break
        }
        throw fail("expected an integer, found \(kind)")
    }

    func integers() throws(ForestLoadError) -> [Int] {
        try convertElements(expecting: "an integer") { value in value.intValue }
    }

    /// Float32 values, parsed from their lexemes directly as XGBoost's own reader does, so that
    /// no double rounding creeps in.
    func floats() throws(ForestLoadError) -> [Float] {
        try convertElements(expecting: "a number") { value in
            guard case .number(let lexeme) = value else { return nil }
            return Float(lexeme)
        }
    }

    /// 0/1 flags; XGBoost 1.x wrote some of them as booleans.
    func flags() throws(ForestLoadError) -> [Bool] {
        try convertElements(expecting: "0 or 1") { value in
            switch value {
            case .bool(let flag): return flag
            case .number: return value.intValue.flatMap { $0 == 0 || $0 == 1 ? $0 == 1 : nil }
            default: return nil
            }
        }
    }

    func strings() throws(ForestLoadError) -> [String] {
        try convertElements(expecting: "a string") { value in value.stringValue }
    }

    private func convertElements<Element>(
        expecting expected: String,
        _ convert: (JSONValue) -> Element?
    ) throws(ForestLoadError) -> [Element] {
        guard let array = value.arrayValue else { throw fail("expected an array, found \(kind)") }
        var result: [Element] = []
        result.reserveCapacity(array.count)
        for (index, element) in array.enumerated() {
            guard let converted = convert(element) else {
                throw fail("element \(index) is \(XGBoostField.describe(element)), not \(expected)")
            }
            result.append(converted)
        }
        return result
    }

    private var kind: String { XGBoostField.describe(value) }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return "\(flag)"
        case .number(let lexeme): return lexeme
        case .string(let text): return text.count <= 40 ? "\"\(text)\"" : "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
