extension PolicyFileReader {
    static let routeKeys = [
        "name", "kinds", "models", "backends", "fallbacks", "fallback_on", "retry", "timeout_seconds", "cache",
        "price_per_1m_input_tokens", "price_per_1m_output_tokens", "price_per_1m_input_tokens_env",
        "price_per_1m_output_tokens_env", "model_prices", "limits", "budget_fallback",
    ]

    /// One `[[routes]]` table; `nil` only when it has no usable name.
    func readRoute(_ table: TableReader) -> Route? {
        table.checkKeys(Self.routeKeys)
        let name = table.string("name")
        if name == nil, !table.has("name") { table.missing("name") }
        var route = RoutePolicy(
            name: name ?? "",
            backends: [],
            file: diagnostics.file,
            line: diagnostics.locator.line(for: table.path)
        )
        if let kinds = readKinds(table) { route.kinds = kinds }
        if let models = readModels(table) { route.models = models }
        let (primaries, primaryPaths) = readPrimaries(table)
        route.backends = primaries
        let fallbacks = table.strings("fallbacks") ?? []
        route.fallbacks = fallbacks
        let fallbackPaths = fallbacks.indices.map { table.path.appending("fallbacks").appending(index: $0) }
        checkRepeats(table, primaries: primaries.map(\.backend), primaryPaths, fallbacks: fallbacks, fallbackPaths)
        if let failures = readFailureSet(table, "fallback_on") { route.fallbackOn = failures }
        if let retry = table.table("retry") { route.retry = readRetry(retry) }
        if let seconds = table.number("timeout_seconds") { route.timeoutSeconds = seconds }
        if let cache = table.table("cache") { route.cache = readCache(cache) }
        route.pricing = readPricing(table)
        if let limits = table.table("limits") { route.limits = readLimits(limits) }
        route.budgetFallback = table.string("budget_fallback")
        guard name != nil else { return nil }
        return Route(
            policy: route,
            path: table.path,
            primaryPaths: primaryPaths,
            fallbackPaths: fallbackPaths,
            diagnostics: diagnostics
        )
    }

    private func readKinds(_ table: TableReader) -> [EndpointKind]? {
        guard let words = table.strings("kinds") else { return nil }
        guard !words.isEmpty else {
            table.invalid("kinds", "must list at least one kind; leave the key out to serve all kinds")
            return nil
        }
        var kinds: [EndpointKind] = []
        for (index, word) in words.enumerated() {
            guard let kind = EndpointKind(rawValue: word) else {
                let expected = EndpointKind.allCases.map(\.rawValue).joined(separator: ", ")
                let path = table.path.appending("kinds")
                diagnostics.report(
                    .invalidValue,
                    at: path,
                    line: path.appending(index: index),
                    "unknown kind '\(word)'; expected one of \(expected)"
                )
                continue
            }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return kinds
    }

    private func readModels(_ table: TableReader) -> [ModelPattern]? {
        guard let names = table.strings("models") else { return nil }
        guard !names.isEmpty else {
            table.invalid("models", "must list at least one model name or glob; leave the key out to match all")
            return nil
        }
        if names.contains("") { table.invalid("models", "model names must not be empty") }
        return names.filter { !$0.isEmpty }.map { ModelPattern($0) }
    }

    /// `backends = ["a", "b"]` or `[{ backend = "a", weight = 3 }, ...]`, mixed freely.
    private func readPrimaries(_ table: TableReader) -> ([RoutePolicy.WeightedBackend], [TOMLKeyPath]) {
        guard let node = table.node("backends") else {
            table.missing("backends")
            return ([], [])
        }
        let expected = "an array of backend names or { backend = \"name\", weight = N } tables"
        guard case .array(let elements) = node else {
            table.wrongType("backends", expected: expected, got: node)
            return ([], [])
        }
        guard !elements.isEmpty else {
            table.invalid("backends", "must list at least one backend")
            return ([], [])
        }
        var primaries: [RoutePolicy.WeightedBackend] = []
        var paths: [TOMLKeyPath] = []
        let arrayPath = table.path.appending("backends")
        for (index, element) in elements.enumerated() {
            let path = arrayPath.appending(index: index)
            switch element {
            case .string(let name):
                primaries.append(RoutePolicy.WeightedBackend(backend: name))
                paths.append(path)
            case .table(let entries):
                let entry = TableReader(path: path, entries: entries, diagnostics: diagnostics)
                entry.checkKeys(["backend", "weight"])
                guard let name = entry.string("backend") else {
                    if !entry.has("backend") { entry.missing("backend") }
                    continue
                }
                primaries.append(RoutePolicy.WeightedBackend(backend: name, weight: entry.number("weight") ?? 1))
                paths.append(path)
            default:
                diagnostics.report(
                    .wrongType,
                    at: arrayPath,
                    line: path,
                    "expected \(expected), but element \(index) is \(element.typeDescription)"
                )
            }
        }
        return (primaries, paths)
    }

    /// A backend listed twice would be tried twice; one both primary and fallback too.
    private func checkRepeats(
        _ table: TableReader,
        primaries: [String],
        _ primaryPaths: [TOMLKeyPath],
        fallbacks: [String],
        _ fallbackPaths: [TOMLKeyPath]
    ) {
        let all =
            zip(primaries, primaryPaths).map { ($0, $1, "backends") }
            + zip(fallbacks, fallbackPaths).map { ($0, $1, "fallbacks") }
        var seen: [String: String] = [:]
        for (name, path, key) in all {
            if let first = seen[name] {
                let reason =
                    first == key
                    ? "backend '\(name)' is listed twice"
                    : "backend '\(name)' is already a primary backend of this route"
                diagnostics.report(.duplicate, at: table.path.appending(key), line: path, reason)
            } else {
                seen[name] = key
            }
        }
    }
}
