/// Finds the line where a key is defined in a TOML document, for error messages.
///
/// TOMLKit reports lines for syntax errors only; a value that parses but is wrong (an
/// unknown key, a bad URL) needs this to point at its line. Paths are written as in the
/// loader's messages: `server.listen`, `routes[2].backends`, `routes[0].backends[1].weight`,
/// `aliases."gpt-4.1"`. `routes[n]` is the n-th `[[routes]]` (from 0) of the document.
///
/// A pure function of the text; the gateway uses it for `config.toml` too.
public struct TOMLLineLocator: Sendable {
    private let lines: [TOMLKeyPath: Int]

    public init(text: String) {
        var scanner = TOMLLineScanner(text: text)
        scanner.scan()
        lines = scanner.lines
    }

    /// The 1-based line where `keyPath` is defined (for a table: its header; for a value
    /// in an inline table or an array: the line it sits on), or `nil` if it is not.
    public func line(for keyPath: String) -> Int? {
        TOMLKeyPath(parsing: keyPath).flatMap(line(for:))
    }

    /// Like ``line(for:)``, but falls back to the nearest enclosing key that is defined:
    /// a missing `routes[1].name` reports the line of `[[routes]]`.
    public func nearestLine(for keyPath: String) -> Int? {
        TOMLKeyPath(parsing: keyPath).flatMap(nearestLine(for:))
    }

    func line(for path: TOMLKeyPath) -> Int? {
        lines[path]
    }

    func nearestLine(for path: TOMLKeyPath) -> Int? {
        var candidate: TOMLKeyPath? = path
        while let current = candidate, !current.components.isEmpty {
            if let line = lines[current] { return line }
            candidate = current.parent
        }
        return nil
    }
}
