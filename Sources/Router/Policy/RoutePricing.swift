/// What a million tokens cost, in USD.
public struct TokenPrice: Sendable, Hashable, Encodable {
    /// Per million prompt tokens; 0 or more.
    public var inputPer1M: Double
    /// Per million completion tokens; 0 or more.
    public var outputPer1M: Double

    public init(inputPer1M: Double, outputPer1M: Double) {
        self.inputPer1M = inputPer1M
        self.outputPer1M = outputPer1M
    }

    enum CodingKeys: String, CodingKey {
        case inputPer1M = "input_per_1m"
        case outputPer1M = "output_per_1m"
    }
}

/// What requests on a route cost upstream (`price_per_1m_*` and `model_prices` in a route),
/// for budgets and the cost headers.
public struct RoutePricing: Sendable, Hashable, Encodable {
    /// The price of the models one pattern matches.
    public struct ModelPrice: Sendable, Hashable, Encodable {
        public var pattern: ModelPattern
        public var price: TokenPrice

        public init(pattern: ModelPattern, price: TokenPrice) {
            self.pattern = pattern
            self.price = price
        }
    }

    /// The route-level price; `nil` (the default) when the route sets none.
    public var base: TokenPrice?
    /// Per-model prices; the first match wins. The loader orders them most specific first
    /// (exact names, then globs with more literal characters), since TOML tables keep no order.
    public var models: [ModelPrice]

    public init(base: TokenPrice? = nil, models: [ModelPrice] = []) {
        self.base = base
        self.models = models
    }

    /// The price for `model` (the resolved model name): the first matching ``models`` entry,
    /// else ``base``, else `nil`.
    public func price(for model: String) -> TokenPrice? {
        models.first { $0.pattern.matches(model) }?.price ?? base
    }
}
