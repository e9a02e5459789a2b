/// A path to a value in a TOML document, such as `routes[2].backends` or
/// `aliases."gpt-4.1"`, in the one spelling that error messages and
/// ``TOMLLineLocator`` share.
struct TOMLKeyPath: Hashable, Sendable, CustomStringConvertible {
    enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    var components: [Component]

    init(_ components: [Component] = []) {
        self.components = components
    }

    /// Parses the spelling that ``description`` produces: dotted keys, quoted where they
    /// are not bare (`"a.b"` or `'a.b'`), and `[n]` indices. `nil` when malformed.
    init?(parsing text: String) {
        var parser = KeyPathParser(bytes: Array(text.utf8))
        guard let components = parser.parse() else { return nil }
        self.components = components
    }

    func appending(_ key: String) -> TOMLKeyPath {
        TOMLKeyPath(components + [.key(key)])
    }

    func appending(index: Int) -> TOMLKeyPath {
        TOMLKeyPath(components + [.index(index)])
    }

    /// The path without its last component; `nil` for the root.
    var parent: TOMLKeyPath? {
        components.isEmpty ? nil : TOMLKeyPath(Array(components.dropLast()))
    }

    var description: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key):
                if !text.isEmpty { text += "." }
                text += Self.render(key: key)
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    /// A key as TOML would accept it: bare when it can be, otherwise a basic string.
    static func render(key: String) -> String {
        if !key.isEmpty, key.utf8.allSatisfy(isBareKeyByte) { return key }
        var quoted = "\""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

/// Reads the ``TOMLKeyPath`` spelling back into components.
private struct KeyPathParser {
    let bytes: [UInt8]
    var position = 0

    mutating func parse() -> [TOMLKeyPath.Component]? {
        var components: [TOMLKeyPath.Component] = []
        var expectKey = true
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: " ") {
                position += 1
            } else if byte == UInt8(ascii: "[") {
                guard !expectKey, let index = readIndex() else { return nil }
                components.append(.index(index))
                expectKey = false
            } else if byte == UInt8(ascii: ".") {
                guard !expectKey else { return nil }
                position += 1
                expectKey = true
            } else {
                guard expectKey, let key = readKey() else { return nil }
                components.append(.key(key))
                expectKey = false
            }
        }
        return expectKey && !components.isEmpty ? nil : components
    }

    private mutating func readIndex() -> Int? {
        position += 1
        let start = position
        while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
            position += 1
        }
        guard position > start, position < bytes.count, bytes[position] == UInt8(ascii: "]") else { return nil }
        let index = Int(String(decoding: bytes[start..<position], as: UTF8.self))
        position += 1
        return index
    }

    private mutating func readKey() -> String? {
        let quote = bytes[position]
        guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
            let start = position
            while position < bytes.count, TOMLKeyPath.isBareKeyByte(bytes[position]) || bytes[position] >= 0x80 {
                position += 1
            }
            return position > start ? String(decoding: bytes[start..<position], as: UTF8.self) : nil
        }
        var scanner = TOMLLineScanner(bytes: bytes, position: position)
        let key = quote == UInt8(ascii: "\"") ? scanner.readBasicStringKey() : scanner.readLiteralStringKey()
        position = scanner.position
        return key
    }
}
