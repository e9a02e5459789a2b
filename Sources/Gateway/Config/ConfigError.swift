/// One problem in a configuration or policy file, located for a human to fix.
public struct ConfigProblem: Error, Sendable, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var key: String
    public var reason: String

    public init(file: String, line: Int?, key: String, reason: String) {
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(reason)" : "\(location): \(key): \(reason)"
    }
}

/// Every problem found while loading, reported together so one run shows them all.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(_ problems: [ConfigProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
