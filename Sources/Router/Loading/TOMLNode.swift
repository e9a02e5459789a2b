import TOMLKit

/// A parsed TOML value copied out of TOMLKit into plain Swift values, so validation can
/// switch over it exhaustively and never touches TOMLKit's C++-backed classes again.
indirect enum TOMLNode {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case array([TOMLNode])
    case table([String: TOMLNode])
    /// Dates and times, which no policy key takes.
    case dateTime(String)

    init(_ value: any TOMLValueConvertible) {
        switch value.type {
        case .string: self = .string(value.string ?? "")
        case .int: self = .integer(value.int ?? 0)
        case .double: self = .float(value.double ?? 0)
        case .bool: self = .boolean(value.bool ?? false)
        case .array: self = .array(value.array.map { $0.map(TOMLNode.init) } ?? [])
        case .table: self = .table(value.table.map(TOMLNode.entries) ?? [:])
        case .date, .time, .dateTime: self = .dateTime(value.debugDescription)
        }
    }

    static func entries(of table: TOMLTable) -> [String: TOMLNode] {
        var entries: [String: TOMLNode] = [:]
        for (key, value) in table { entries[key] = TOMLNode(value) }
        return entries
    }

    /// The value's type with an article, for "expected a string, got an integer".
    var typeDescription: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a floating-point number"
        case .boolean: return "a boolean"
        case .array: return "an array"
        case .table: return "a table"
        case .dateTime: return "a date or time"
        }
    }

    /// Integers and floats both, since `timeout_seconds = 60` and `= 60.0` mean the same.
    var number: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .float(let value): return value
        default: return nil
        }
    }
}
