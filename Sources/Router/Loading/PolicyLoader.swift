import TOMLKit

/// Parses and validates the policy files into a ``RoutingTable``.
///
/// Pure: the gateway lists and reads the files (in name order) and passes the
/// environment, so a reload can be checked completely before it replaces anything.
public enum PolicyLoader {
    /// The merged table, or every problem found in any file: syntax errors, unknown keys,
    /// wrong types, bad values, unknown or duplicate names, alias cycles. Files after a
    /// broken one are still read, so one reload reports everything.
    ///
    /// A backend whose `url_env` variable is unset (and that has no `url`) is not an
    /// error: it loads with ``BackendPolicy/unconfiguredReason`` set.
    public static func load(
        sources: [PolicySource],
        environment: [String: String]
    ) -> Result<RoutingTable, PolicyErrors> {
        var set = PolicySet()
        var files: [PolicyDiagnostics] = []
        for source in sources {
            let diagnostics = PolicyDiagnostics(file: source.path, text: source.text)
            files.append(diagnostics)
            guard let entries = parse(source, diagnostics) else { continue }
            let root = TableReader(path: TOMLKeyPath(), entries: entries, diagnostics: diagnostics)
            set.add(PolicyFileReader(root: root, environment: environment).read())
        }
        set.checkReferences()
        set.checkBudgetFallbacks()
        set.checkAliases()

        let errors = files.flatMap { file in
            file.errors.enumerated()
                .sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }
                .map(\.element)
        }
        return errors.isEmpty ? .success(set.table) : .failure(PolicyErrors(errors))
    }

    private static func parse(_ source: PolicySource, _ diagnostics: PolicyDiagnostics) -> [String: TOMLNode]? {
        do {
            return TOMLNode.entries(of: try TOMLTable(string: source.text))
        } catch let error as TOMLParseError {
            diagnostics.report(
                PolicyError(
                    code: .syntax,
                    file: source.path,
                    line: error.source.begin.line,
                    column: error.source.begin.column,
                    key: "",
                    reason: "invalid TOML: \(error.description)"
                )
            )
        } catch {
            diagnostics.report(
                PolicyError(code: .syntax, file: source.path, line: nil, key: "", reason: "invalid TOML: \(error)")
            )
        }
        return nil
    }
}
