/// A JSON document as the client sent it.
///
/// Numbers keep their original lexeme (`1.0` stays `1.0`) so that a parsed body written back
/// with `JSONWriter.write` is semantically what the client sent; `JSONWriter.canonicalBytes`
/// is where numbers are compared by value. Equality is structural: numbers compare by lexeme,
/// strings and object keys by their UTF-8 bytes (JSON does not normalise Unicode, so `é` as
/// one scalar and as `e` plus a combining accent are different strings).
///
/// Not `indirect`: arrays and objects already live on the heap, and boxing every scalar
/// would cost an allocation per value.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// The number's lexeme, already validated against the JSON grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

extension JSONValue: Equatable {
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return sameUTF8(a, b)
        case (.string(let a), .string(let b)): return sameUTF8(a, b)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        default: return false
        }
    }
}

extension JSONValue {
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The number's value, rounded to the nearest `Double` as Python's and JavaScript's parsers do.
    public var doubleValue: Double? {
        if case .number(let lexeme) = self { return Double(lexeme) }
        return nil
    }

    /// The number as an `Int` when it is integral and in range (`16`, `16.0` and `1.6e1` all give 16).
    public var intValue: Int? {
        guard case .number(let lexeme) = self else { return nil }
        if let exact = Int(lexeme) { return exact }
        // Range-checked truncation rather than `rounded()`, which would pull in libm.
        guard let double = Double(lexeme), double.magnitude < 9_223_372_036_854_775_808.0 else { return nil }
        let integer = Int(double)
        return Double(integer) == double ? integer : nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The member named `key` when this is an object; nil for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }
}

/// Literals make documents in code read like JSON. There is deliberately no `nil` literal:
/// `object["k"] = nil` removes a member, `object["k"] = .null` stores a JSON null.
extension JSONValue: ExpressibleByBooleanLiteral, ExpressibleByStringLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }

    /// Swift's shortest round-trip description, which is valid JSON for every finite value.
    public init(floatLiteral value: Double) {
        precondition(value.isFinite, "JSON has no representation for \(value)")
        self = .number(value.description)
    }

    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object = JSONObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

/// A JSON object that keeps its members in source order, so a re-serialised body reads like
/// the original. Keys are unique: setting an existing key replaces its value in place.
///
/// Lookup is a linear scan, which beats hashing for the handful of members request bodies have.
public struct JSONObject: Sendable {
    public private(set) var keys: [String]
    public private(set) var values: [JSONValue]

    public init() {
        keys = []
        values = []
    }

    /// Takes parallel arrays whose keys the caller has already made unique.
    init(uniqueKeys keys: [String], values: [JSONValue]) {
        assert(keys.count == values.count)
        self.keys = keys
        self.values = values
    }

    public subscript(key: String) -> JSONValue? {
        get {
            guard let index = index(forKey: key) else { return nil }
            return values[index]
        }
        set {
            let existing = index(forKey: key)
            switch (existing, newValue) {
            case (let index?, let value?): values[index] = value
            case (nil, let value?):
                keys.append(key)
                values.append(value)
            case (_?, nil): removeValue(forKey: key)
            case (nil, nil): break
            }
        }
    }

    /// Removes, in one pass, every member for which `shouldBeRemoved` is true.
    public mutating func removeAll(where shouldBeRemoved: (_ key: String, _ value: JSONValue) -> Bool) {
        var kept = 0
        for position in keys.indices where !shouldBeRemoved(keys[position], values[position]) {
            if kept != position {
                keys.swapAt(kept, position)
                values.swapAt(kept, position)
            }
            kept += 1
        }
        keys.removeLast(keys.count - kept)
        values.removeLast(values.count - kept)
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let index = index(forKey: key) else { return nil }
        keys.remove(at: index)
        return values.remove(at: index)
    }

    public func index(forKey key: String) -> Int? {
        keys.firstIndex { sameUTF8($0, key) }
    }
}

extension JSONObject: RandomAccessCollection {
    public typealias Element = (key: String, value: JSONValue)

    public var startIndex: Int { 0 }
    public var endIndex: Int { keys.count }

    public subscript(position: Int) -> Element {
        (keys[position], values[position])
    }
}

/// Order matters: `{"a":1,"b":2}` and `{"b":2,"a":1}` are different objects here, the same
/// object in `JSONWriter.canonicalBytes`.
extension JSONObject: Equatable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.keys.count == rhs.keys.count && lhs.values == rhs.values
            && zip(lhs.keys, rhs.keys).allSatisfy { sameUTF8($0, $1) }
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init()
        for (key, value) in elements { self[key] = value }
    }
}

/// Byte equality: Swift's `==` on `String` follows canonical equivalence, JSON does not.
@inline(__always)
public func sameUTF8(_ a: String, _ b: String) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    let fast = a.utf8.withContiguousStorageIfAvailable { x in
        b.utf8.withContiguousStorageIfAvailable { y in
            for position in 0..<x.count where x[position] != y[position] { return false }
            return true
        }
    }
    return (fast ?? nil) ?? a.utf8.elementsEqual(b.utf8)
}

/// UTF-8 byte order, which is also Unicode code point order.
@inline(__always)
func utf8Precedes(_ a: String, _ b: String) -> Bool {
    let fast = a.utf8.withContiguousStorageIfAvailable { x in
        b.utf8.withContiguousStorageIfAvailable { y in x.lexicographicallyPrecedes(y) }
    }
    return (fast ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// Compact JSON, so that logs and test failures read as documents rather than enum dumps.
extension JSONValue: CustomStringConvertible {
    public var description: String { String(decoding: JSONWriter.bytes(self), as: UTF8.self) }
}

extension JSONObject: CustomStringConvertible {
    public var description: String { JSONValue.object(self).description }
}
