import Cache
import Router

extension TokenPrice {
    static let free = TokenPrice(inputPer1M: 0, outputPer1M: 0)

    /// USD for `prompt` input and `completion` output tokens.
    func cost(prompt: Int, completion: Int) -> Double {
        (Double(prompt) * inputPer1M + Double(completion) * outputPer1M) / 1_000_000
    }

    func cost(_ usage: TokenUsage) -> Double { cost(prompt: usage.promptTokens, completion: usage.completionTokens) }
}

/// What a request costs on the backend that serves it.
enum Pricing {
    /// A local engine's own price applies when it serves; an upstream is priced by its route
    /// (per model, then the route's price).
    static func price(backend: BackendPolicy?, route: RoutePolicy, model: String) -> TokenPrice {
        if let spec = backend?.languageModel {
            return TokenPrice(inputPer1M: spec.pricePer1MInputTokens, outputPer1M: spec.pricePer1MOutputTokens)
        }
        return route.pricing.price(for: model) ?? .free
    }

    /// The dearest of the backends a request on `route` may end up on (primaries and
    /// fallbacks): what admission reserves at, so a fallback can never cost more than reserved.
    static func worstCase(route: RoutePolicy, table: RoutingTable, model: String) -> TokenPrice {
        var input = 0.0
        var output = 0.0
        var names = route.backends.map(\.backend)
        names.append(contentsOf: route.fallbacks)
        if names.isEmpty { names = [""] }
        for name in names {
            let price = price(backend: table.backends[name], route: route, model: model)
            input = max(input, price.inputPer1M)
            output = max(output, price.outputPer1M)
        }
        return TokenPrice(inputPer1M: input, outputPer1M: output)
    }
}
