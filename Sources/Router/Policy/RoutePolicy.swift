/// Where requests for some models go, and how failures and caching are handled
/// (`[[routes]]` in a policy file).
public struct RoutePolicy: Sendable, Hashable {
    /// A primary backend and its share of the traffic.
    public struct WeightedBackend: Sendable, Hashable, Encodable {
        /// The backend's name in ``RoutingTable/backends``.
        public var backend: String
        /// Relative share; any positive number. Default 1.
        public var weight: Double

        public init(backend: String, weight: Double = 1) {
            self.backend = backend
            self.weight = weight
        }
    }

    /// Unique across all policy files; part of the cache key and of metrics labels.
    public var name: String
    /// Endpoint kinds the route serves. Default: all of them.
    public var kinds: [EndpointKind]
    /// Model names or globs (`*`, `?`) the route serves. Default `["*"]`.
    public var models: [ModelPattern]
    /// Primary backends; one is picked by weight, the others are tried after it.
    public var backends: [WeightedBackend]
    /// Tried in order once every primary failed with a failure in ``fallbackOn``. Default none.
    public var fallbacks: [String]
    /// Failures that move on to the next backend. Default ``FailureSet/defaultFallback``.
    public var fallbackOn: FailureSet
    /// Retries on the same replica before moving on. Default: none (see ``RetryPolicy``).
    public var retry: RetryPolicy
    /// Seconds for the whole request, all attempts included. Default 120, which leaves
    /// room for one primary at its default 60 s timeout and then a fallback.
    public var timeoutSeconds: Double
    /// See ``CachePolicy`` for its defaults.
    public var cache: CachePolicy
    /// Token prices for budgets and cost headers. Default: none.
    public var pricing: RoutePricing
    /// Rate limits and budgets. Default: none.
    public var limits: UsageLimits
    /// The route that serves a request one of ``limits``' budgets refuses, by name; `nil` (the
    /// default) refuses it. The gateway takes one hop only: that route's own `budgetFallback`
    /// is not followed.
    public var budgetFallback: String?
    /// The policy file that defined the route.
    public var file: String
    /// The line of its `[[routes]]` header, when known.
    public var line: Int?

    public init(
        name: String,
        kinds: [EndpointKind] = EndpointKind.allCases,
        models: [ModelPattern] = [ModelPattern("*")],
        backends: [WeightedBackend],
        fallbacks: [String] = [],
        fallbackOn: FailureSet = .defaultFallback,
        retry: RetryPolicy = RetryPolicy(),
        timeoutSeconds: Double = 120,
        cache: CachePolicy = CachePolicy(),
        pricing: RoutePricing = RoutePricing(),
        limits: UsageLimits = UsageLimits(),
        budgetFallback: String? = nil,
        file: String = "",
        line: Int? = nil
    ) {
        self.name = name
        self.kinds = kinds
        self.models = models
        self.backends = backends
        self.fallbacks = fallbacks
        self.fallbackOn = fallbackOn
        self.retry = retry
        self.timeoutSeconds = timeoutSeconds
        self.cache = cache
        self.pricing = pricing
        self.limits = limits
        self.budgetFallback = budgetFallback
        self.file = file
        self.line = line
    }

    /// Whether the route serves `model` (after alias resolution) on `kind`.
    public func matches(kind: EndpointKind, model: String) -> Bool {
        kinds.contains(kind) && models.contains { $0.matches(model) }
    }
}

extension RoutePolicy: Encodable {
    enum CodingKeys: String, CodingKey {
        case name, kinds, models, backends, fallbacks, retry, cache, pricing, limits, file, line
        case fallbackOn = "fallback_on"
        case timeoutSeconds = "timeout_seconds"
        case budgetFallback = "budget_fallback"
    }
}
