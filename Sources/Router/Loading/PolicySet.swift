/// The contents of all policy files merged in file order, with the checks that span
/// files: duplicate names, references to backends and routes, and alias chains.
struct PolicySet {
    private(set) var backends: [PolicyFileReader.Backend] = []
    private(set) var routes: [PolicyFileReader.Route] = []
    private(set) var aliases: [PolicyFileReader.Alias] = []
    private var backendsByName: [String: PolicyFileReader.Backend] = [:]
    private var routesByName: [String: PolicyFileReader.Route] = [:]
    private var aliasesByName: [String: PolicyFileReader.Alias] = [:]

    /// Adds one file's contents; a name already defined is reported where it is repeated.
    mutating func add(_ contents: PolicyFileReader.Contents) {
        for backend in contents.backends {
            if let first = backendsByName[backend.policy.name] {
                backend.diagnostics.report(
                    .duplicate,
                    at: backend.path,
                    "duplicate backend '\(backend.policy.name)' (first defined at \(first.location))"
                )
                continue
            }
            backendsByName[backend.policy.name] = backend
            backends.append(backend)
        }
        for route in contents.routes {
            if let first = routesByName[route.policy.name] {
                route.diagnostics.report(
                    .duplicate,
                    at: route.path.appending("name"),
                    "duplicate route name '\(route.policy.name)' (first defined at \(first.location))"
                )
                continue
            }
            routesByName[route.policy.name] = route
            routes.append(route)
        }
        for alias in contents.aliases {
            if let first = aliasesByName[alias.name] {
                alias.diagnostics.report(
                    .duplicate,
                    at: alias.path,
                    "duplicate alias '\(alias.name)' (first defined at \(first.location))"
                )
                continue
            }
            aliasesByName[alias.name] = alias
            aliases.append(alias)
        }
    }

    /// Every backend a route names must exist in some file.
    func checkReferences() {
        let known =
            backendsByName.isEmpty
            ? "no backends are defined"
            : "known: " + backendsByName.keys.sorted().joined(separator: ", ")
        for route in routes {
            let references =
                zip(route.policy.backends.map(\.backend), route.primaryPaths).map { ($0, $1, "backends") }
                + zip(route.policy.fallbacks, route.fallbackPaths).map { ($0, $1, "fallbacks") }
            for (name, path, key) in references {
                guard let backend = backendsByName[name] else {
                    route.diagnostics.report(
                        .unknownReference,
                        at: route.path.appending(key),
                        line: path,
                        "unknown backend '\(name)' (\(known))"
                    )
                    continue
                }
                checkKinds(route, backend: backend.policy, path: path, key: key)
            }
            if let semantic = route.policy.cache.semantic {
                let path = route.path.appending("cache").appending("semantic").appending("encoder")
                if let backend = backendsByName[semantic.encoder], backend.policy.type != .gguf {
                    route.diagnostics.report(
                        .invalidValue, at: path,
                        "backend '\(semantic.encoder)' is not a gguf backend; the semantic cache needs a local encoder (bert) file")
                } else if backendsByName[semantic.encoder] == nil {
                    route.diagnostics.report(.unknownReference, at: path, "unknown backend '\(semantic.encoder)' (\(known))")
                }
            }
        }
    }

    /// A route's `budget_fallback` names another route, in any file. The gateway takes one
    /// hop, so a fallback that has its own is allowed (and not followed).
    func checkBudgetFallbacks() {
        for route in routes {
            guard let target = route.policy.budgetFallback else { continue }
            let path = route.path.appending("budget_fallback")
            if target == route.policy.name {
                route.diagnostics.report(
                    .invalidValue,
                    at: path,
                    "route '\(target)' cannot be its own budget fallback; name another route or leave the key out"
                )
            } else if routesByName[target] == nil {
                let known = routesByName.keys.filter { $0 != route.policy.name }.sorted()
                let list = known.isEmpty ? "no other routes are defined" : "known: " + known.joined(separator: ", ")
                route.diagnostics.report(.unknownReference, at: path, "unknown route '\(target)' (\(list))")
            }
        }
    }

    /// A forest backend answers only `predict`, and `predict` has only forest backends to go to.
    private func checkKinds(_ route: PolicyFileReader.Route, backend: BackendPolicy, path: TOMLKeyPath, key: String) {
        let kinds = route.policy.kinds
        if backend.type == .forest, kinds != [.predict] {
            route.diagnostics.report(
                .invalidValue,
                at: route.path.appending(key),
                line: path,
                "backend '\(backend.name)' is a forest model and serves only predict; set kinds = [\"predict\"] on this route"
            )
        } else if backend.type != .forest, kinds == [.predict] {
            route.diagnostics.report(
                .invalidValue,
                at: route.path.appending(key),
                line: path,
                "backend '\(backend.name)' is an \(backend.type.rawValue) upstream; predict routes need forest backends"
            )
        } else if backend.type == .gguf, kinds.contains(.predict) {
            route.diagnostics.report(
                .invalidValue,
                at: route.path.appending(key),
                line: path,
                "backend '\(backend.name)' is a local GGUF model and serves chat, completion or embedding; "
                    + "predict routes need forest backends"
            )
        }
    }

    /// Aliases resolve one level only, so an alias whose target is itself an alias would
    /// silently stop halfway; both that and cycles are reported.
    func checkAliases() {
        for alias in aliases {
            if alias.target == alias.name {
                alias.diagnostics.report(.aliasCycle, at: alias.path, "alias '\(alias.name)' points to itself")
                continue
            }
            guard aliasesByName[alias.target] != nil else { continue }
            var chain = [alias.name]
            var visited: Set<String> = [alias.name]
            var current = alias.name
            while let step = aliasesByName[current] {
                chain.append(step.target)
                guard visited.insert(step.target).inserted else { break }
                current = step.target
            }
            let reason =
                chain.last == alias.name
                ? "alias cycle: \(chain.joined(separator: " -> "))"
                : "alias '\(alias.name)' points to '\(alias.target)', which is itself an alias; "
                    + "point it at the model name directly (aliases resolve one level)"
            alias.diagnostics.report(.aliasCycle, at: alias.path, reason)
        }
    }

    var table: RoutingTable {
        RoutingTable(
            routes: routes.map(\.policy),
            backends: backends.map(\.policy),
            aliases: Dictionary(uniqueKeysWithValues: aliases.map { ($0.name, $0.target) })
        )
    }
}
