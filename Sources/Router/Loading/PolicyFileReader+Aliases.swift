extension PolicyFileReader {
    /// `[aliases]`: public name = model name. Both must be concrete names; a glob on
    /// either side would make `/v1/models` and matching ambiguous.
    func readAliases(_ table: TableReader) -> [Alias] {
        var aliases: [Alias] = []
        for name in table.entries.keys.sorted() {
            guard let target = table.string(name) else { continue }
            if name.contains(where: { $0 == "*" || $0 == "?" }) || target.contains(where: { $0 == "*" || $0 == "?" }) {
                table.invalid(name, "aliases map one exact model name to another; globs (* ?) are not allowed")
                continue
            }
            aliases.append(
                Alias(name: name, target: target, path: table.path.appending(name), diagnostics: diagnostics)
            )
        }
        return aliases
    }
}
