/// The effective routing policy: every route in match order, the backends they name and
/// the model aliases, merged from all policy files.
///
/// Immutable once built, so the gateway can swap a whole new table in on reload while
/// requests in flight finish against the one they started with.
public struct RoutingTable: Sendable {
    /// In match order: files by name, routes in file order. The first match wins.
    public let routes: [RoutePolicy]
    /// By name.
    public let backends: [String: BackendPolicy]
    /// Public model name -> the model name routes match against.
    public let aliases: [String: String]
    /// Concrete names to list on `GET /v1/models`: the non-glob route patterns in route
    /// order, then alias names in sorted order, without repeats.
    public let modelNames: [String]

    /// Route indices by exact model name, ascending, for the common case of no globs.
    private let exactRoutes: [String: [Int]]
    /// Indices of routes with at least one glob pattern, ascending.
    private let globRoutes: [Int]
    /// Hash rings of the backends with prefix affinity, built once per table.
    private let rings: [String: ConsistentHashRing]

    public init(routes: [RoutePolicy], backends: [BackendPolicy], aliases: [String: String] = [:]) {
        self.routes = routes
        self.backends = Dictionary(backends.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.aliases = aliases

        var exact: [String: [Int]] = [:]
        var globs: [Int] = []
        var names: [String] = []
        var seen: Set<String> = []
        for (index, route) in routes.enumerated() {
            if route.models.contains(where: \.isGlob) { globs.append(index) }
            for pattern in route.models where !pattern.isGlob {
                if exact[pattern.pattern]?.last != index { exact[pattern.pattern, default: []].append(index) }
                if seen.insert(pattern.pattern).inserted { names.append(pattern.pattern) }
            }
        }
        for alias in aliases.keys.sorted() where seen.insert(alias).inserted { names.append(alias) }
        self.exactRoutes = exact
        self.globRoutes = globs
        self.modelNames = names

        var rings: [String: ConsistentHashRing] = [:]
        for backend in backends where backend.affinityPrefixChars != nil && backend.replicas.count > 1 {
            rings[backend.name] = ConsistentHashRing(replicas: backend.replicas)
        }
        self.rings = rings
    }

    /// A table with nothing in it: every request is an unknown model.
    public static let empty = RoutingTable(routes: [], backends: [])

    /// The route for a request: `model` goes through the aliases once (an alias's target
    /// is never looked up again), then the first route serving `kind` and a matching
    /// pattern wins. `nil` when no route serves it (the gateway answers 404).
    public func resolve(kind: EndpointKind, model requested: String) -> RouteMatch? {
        let model = aliases[requested] ?? requested
        let exactIndex = exactRoutes[model]?.first { routes[$0].kinds.contains(kind) }
        for index in globRoutes {
            if let exactIndex, index > exactIndex { break }
            if routes[index].matches(kind: kind, model: model) {
                return RouteMatch(route: routes[index], requestedModel: requested, model: model)
            }
        }
        guard let exactIndex else { return nil }
        return RouteMatch(route: routes[exactIndex], requestedModel: requested, model: model)
    }

    /// The route named `name`, if any.
    public func route(named name: String) -> RoutePolicy? {
        routes.first { $0.name == name }
    }

    /// The hash ring of a backend with prefix affinity and more than one replica.
    public func ring(forBackend name: String) -> ConsistentHashRing? {
        rings[name]
    }
}

extension RoutingTable: Encodable {
    enum CodingKeys: String, CodingKey {
        case routes, backends, aliases
    }

    /// The admin view (`GET /admin/policies`): routes in match order, backends by name.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(routes, forKey: .routes)
        try container.encode(backends.values.sorted { $0.name < $1.name }, forKey: .backends)
        try container.encode(aliases, forKey: .aliases)
    }
}
