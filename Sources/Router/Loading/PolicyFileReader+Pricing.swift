extension PolicyFileReader {
    /// `price_per_1m_{input,output}_tokens[_env]` and `model_prices`. The route has a base
    /// price as soon as either side is given; the other side is then 0.
    func readPricing(_ table: TableReader) -> RoutePricing {
        var pricing = RoutePricing()
        let input = readPrice(table, literal: "price_per_1m_input_tokens", env: "price_per_1m_input_tokens_env")
        let output = readPrice(table, literal: "price_per_1m_output_tokens", env: "price_per_1m_output_tokens_env")
        if input != nil || output != nil {
            pricing.base = TokenPrice(inputPer1M: input ?? 0, outputPer1M: output ?? 0)
        }
        if let models = table.table("model_prices") { pricing.models = readModelPrices(models) }
        return pricing
    }

    /// The variable named by `env` wins over `literal` when it is set and not blank; the
    /// literal is still checked, so a bad one is reported whatever the environment holds.
    private func readPrice(_ table: TableReader, literal: String, env: String) -> Double? {
        let written = table.number(literal, allowZero: true)
        guard let variable = table.string(env), let value = environment[variable],
            !value.allSatisfy(\.isWhitespace)
        else { return written }
        let text = value.trimmingWhitespace()
        guard let price = Double(text), price.isFinite, price >= 0 else {
            table.invalid(env, "\(variable) (from the environment): expected a number of USD, 0 or more, got '\(text)'")
            return written
        }
        return price
    }

    /// `model_prices = { "gpt-4o-mini*" = { input = 0.15, output = 0.6 }, ... }`, most
    /// specific first (TOML tables have no order to keep).
    private func readModelPrices(_ table: TableReader) -> [RoutePricing.ModelPrice] {
        var prices: [RoutePricing.ModelPrice] = []
        for pattern in table.entries.keys.sorted() {
            guard let entry = tableEntry(table, pattern, example: "{ input = 2.5, output = 10 }") else { continue }
            guard !pattern.isEmpty else {
                diagnostics.report(.invalidValue, at: entry.path, "model names must not be empty")
                continue
            }
            entry.checkKeys(["input", "output"])
            guard entry.has("input") || entry.has("output") else {
                entry.missing("input", "a model price needs input, output or both (USD per 1M tokens)")
                continue
            }
            let input = entry.number("input", allowZero: true)
            let output = entry.number("output", allowZero: true)
            let price = TokenPrice(inputPer1M: input ?? 0, outputPer1M: output ?? 0)
            prices.append(RoutePricing.ModelPrice(pattern: ModelPattern(pattern), price: price))
        }
        return prices.sorted { Self.isMoreSpecific($0.pattern, than: $1.pattern) }
    }

    /// Exact names, then globs with more literal characters, then with fewer `*`, then by text:
    /// `gpt-4o` before `gpt-4o-mini*` before `gpt-4o*` before `gpt-*` before `*`.
    static func isMoreSpecific(_ a: ModelPattern, than b: ModelPattern) -> Bool {
        if a.isGlob != b.isGlob { return !a.isGlob }
        let (aLiterals, aStars) = wildcardCounts(a)
        let (bLiterals, bStars) = wildcardCounts(b)
        if aLiterals != bLiterals { return aLiterals > bLiterals }
        if aStars != bStars { return aStars < bStars }
        return a.pattern < b.pattern
    }

    private static func wildcardCounts(_ pattern: ModelPattern) -> (literals: Int, stars: Int) {
        var literals = 0
        var stars = 0
        for scalar in pattern.pattern.unicodeScalars {
            switch scalar {
            case "*": stars += 1
            case "?": break
            default: literals += 1
            }
        }
        return (literals, stars)
    }
}
