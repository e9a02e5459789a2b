/// Every problem found in one load of the policy files, in file order and then line
/// order, so a user fixes them all in one pass instead of one per reload.
public struct PolicyErrors: Error, Sendable, Hashable {
    /// Never empty.
    public var errors: [PolicyError]

    public init(_ errors: [PolicyError]) {
        self.errors = errors
    }
}

extension PolicyErrors: CustomStringConvertible {
    /// One error per line.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}

extension PolicyErrors: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(errors)
    }
}
