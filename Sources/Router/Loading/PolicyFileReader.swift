/// Reads one parsed policy file into policy values, reporting every problem it meets to
/// the file's ``PolicyDiagnostics`` and carrying on with defaults.
struct PolicyFileReader {
    /// One backend, with where it was defined.
    struct Backend {
        var policy: BackendPolicy
        var path: TOMLKeyPath
        var diagnostics: PolicyDiagnostics

        var location: String { diagnostics.location(of: path) }
    }

    /// One route, with where it and each backend reference were written, so that the
    /// cross-file checks can point at the exact element.
    struct Route {
        var policy: RoutePolicy
        var path: TOMLKeyPath
        var primaryPaths: [TOMLKeyPath]
        var fallbackPaths: [TOMLKeyPath]
        var diagnostics: PolicyDiagnostics

        var location: String { diagnostics.location(of: path) }
    }

    struct Alias {
        var name: String
        var target: String
        var path: TOMLKeyPath
        var diagnostics: PolicyDiagnostics

        var location: String { diagnostics.location(of: path) }
    }

    struct Contents {
        var backends: [Backend] = []
        var routes: [Route] = []
        var aliases: [Alias] = []
    }

    static let topLevelKeys = ["backends", "routes", "aliases"]

    let root: TableReader
    let environment: [String: String]

    var diagnostics: PolicyDiagnostics { root.diagnostics }

    func read() -> Contents {
        root.checkKeys(Self.topLevelKeys)
        var contents = Contents()
        if let backends = root.table("backends") {
            for name in backends.entries.keys.sorted() {
                guard let table = tableEntry(backends, name, example: "[backends.\(TOMLKeyPath.render(key: name))]")
                else { continue }
                contents.backends.append(
                    Backend(policy: readBackend(name, table), path: table.path, diagnostics: diagnostics)
                )
            }
        }
        if let node = root.node("routes") {
            guard case .array(let elements) = node else {
                root.wrongType("routes", expected: "an array of tables ([[routes]])", got: node)
                return contents
            }
            let routesPath = root.path.appending("routes")
            for (index, element) in elements.enumerated() {
                let path = routesPath.appending(index: index)
                guard case .table(let entries) = element else {
                    diagnostics.report(
                        .wrongType,
                        at: path,
                        "expected a table ([[routes]]), got \(element.typeDescription)"
                    )
                    continue
                }
                let reader = TableReader(path: path, entries: entries, diagnostics: diagnostics)
                if let route = readRoute(reader) { contents.routes.append(route) }
            }
        }
        if let aliases = root.table("aliases") {
            contents.aliases = readAliases(aliases)
        }
        return contents
    }

    /// The table under `key` of `parent`, or a report that it is not one.
    func tableEntry(_ parent: TableReader, _ key: String, example: String) -> TableReader? {
        guard let node = parent.node(key) else { return nil }
        guard case .table(let entries) = node else {
            parent.wrongType(key, expected: "a table (\(example))", got: node)
            return nil
        }
        return TableReader(path: parent.path.appending(key), entries: entries, diagnostics: diagnostics)
    }
}
