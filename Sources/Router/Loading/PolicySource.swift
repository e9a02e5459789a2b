/// One policy file's contents. The gateway lists and reads the files; the loader only
/// parses, so it stays free of I/O and easy to test.
public struct PolicySource: Sendable, Hashable {
    /// Shown in error messages, e.g. `policies/10-chat.toml`.
    public var path: String
    /// The file's text.
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}
