/// Typed access to one TOML table of a policy file. Every accessor reports what is wrong
/// (wrong type, out of range) and returns `nil`, so the caller keeps its default and
/// reading goes on to find the next problem.
struct TableReader {
    let path: TOMLKeyPath
    let entries: [String: TOMLNode]
    let diagnostics: PolicyDiagnostics

    /// Reports every key not in `allowed`, with a suggestion when one is a likely typo.
    func checkKeys(_ allowed: [String]) {
        let expected = allowed.sorted().joined(separator: ", ")
        let place = path.components.isEmpty ? "at the top level" : "in \(path)"
        for key in entries.keys.sorted() where !allowed.contains(key) {
            var reason = "unknown key '\(key)' \(place); expected one of \(expected)"
            if let guess = KeySuggestion.closest(to: key, among: allowed) { reason += " (did you mean '\(guess)'?)" }
            diagnostics.report(.unknownKey, at: path.appending(key), reason)
        }
    }

    func has(_ key: String) -> Bool { entries[key] != nil }

    func node(_ key: String) -> TOMLNode? { entries[key] }

    func wrongType(_ key: String, expected: String, got node: TOMLNode) {
        diagnostics.report(.wrongType, at: path.appending(key), "expected \(expected), got \(node.typeDescription)")
    }

    func invalid(_ key: String, _ reason: String) {
        diagnostics.report(.invalidValue, at: path.appending(key), reason)
    }

    func string(_ key: String, allowEmpty: Bool = false) -> String? {
        guard let node = entries[key] else { return nil }
        guard case .string(let value) = node else {
            wrongType(key, expected: "a string", got: node)
            return nil
        }
        guard allowEmpty || !value.isEmpty else {
            invalid(key, "must not be empty")
            return nil
        }
        return value
    }

    func bool(_ key: String) -> Bool? {
        guard let node = entries[key] else { return nil }
        guard case .boolean(let value) = node else {
            wrongType(key, expected: "a boolean (true or false)", got: node)
            return nil
        }
        return value
    }

    func integer(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let node = entries[key] else { return nil }
        guard case .integer(let value) = node else {
            wrongType(key, expected: "an integer", got: node)
            return nil
        }
        guard range.contains(value) else {
            invalid(key, Self.rangeReason(value, range))
            return nil
        }
        return value
    }

    /// A number (integer or float) that must be greater than 0, or at least 0 when
    /// `allowZero`.
    func number(_ key: String, allowZero: Bool = false) -> Double? {
        guard let node = entries[key] else { return nil }
        guard let value = node.number, value.isFinite else {
            wrongType(key, expected: "a number", got: node)
            return nil
        }
        guard allowZero ? value >= 0 : value > 0 else {
            invalid(key, allowZero ? "must be 0 or more" : "must be greater than 0")
            return nil
        }
        return value
    }

    /// An array whose elements are all strings; the first bad element is reported.
    func strings(_ key: String) -> [String]? {
        guard let node = entries[key] else { return nil }
        guard case .array(let elements) = node else {
            wrongType(key, expected: "an array of strings", got: node)
            return nil
        }
        var values: [String] = []
        for (index, element) in elements.enumerated() {
            guard case .string(let value) = element else {
                diagnostics.report(
                    .wrongType,
                    at: path.appending(key),
                    line: path.appending(key).appending(index: index),
                    "expected an array of strings, but element \(index) is \(element.typeDescription)"
                )
                return nil
            }
            values.append(value)
        }
        return values
    }

    func table(_ key: String) -> TableReader? {
        guard let node = entries[key] else { return nil }
        guard case .table(let entries) = node else {
            wrongType(key, expected: "a table", got: node)
            return nil
        }
        return TableReader(path: path.appending(key), entries: entries, diagnostics: diagnostics)
    }

    func missing(_ key: String, _ reason: String? = nil) {
        diagnostics.report(.missingKey, at: path, reason ?? "missing required key '\(key)'")
    }

    private static func rangeReason(_ value: Int, _ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max
            ? "must be at least \(range.lowerBound), got \(value)"
            : "must be between \(range.lowerBound) and \(range.upperBound), got \(value)"
    }
}
