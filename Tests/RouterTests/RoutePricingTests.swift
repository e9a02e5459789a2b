import Testing

@testable import Router

@Suite struct RoutePricingTests {
    static let priced = PolicySource(
        path: "p.toml",
        text: """
            [backends.a]
            url = "http://a/v1"

            [[routes]]
            name = "chat"
            backends = ["a"]
            price_per_1m_input_tokens = 2.5
            price_per_1m_output_tokens = 10

            [routes.model_prices]
            "gpt-4o-mini*" = { input = 0.15, output = 0.6 }
            gpt-4o = { input = 2.5, output = 10 }
            "*" = { output = 3 }
            "gpt-*" = { input = 1 }
            """
    )

    static func route(_ text: String, environment: [String: String] = [:]) throws -> RoutePolicy {
        let source = PolicySource(path: "p.toml", text: "[backends.a]\nurl = \"http://a/v1\"\n\n" + text)
        let table = try PolicyLoader.load(sources: [source], environment: environment).get()
        return try #require(table.routes.first)
    }

    // MARK: - Parsing

    @Test func routeAndModelPricesAreRead() throws {
        let table = try PolicyLoader.load(sources: [Self.priced], environment: [:]).get()
        let pricing = try #require(table.route(named: "chat")?.pricing)
        #expect(pricing.base == TokenPrice(inputPer1M: 2.5, outputPer1M: 10))
        #expect(pricing.models.map(\.pattern.pattern) == ["gpt-4o", "gpt-4o-mini*", "gpt-*", "*"])
        #expect(pricing.price(for: "gpt-4o-mini-2024-07-18") == TokenPrice(inputPer1M: 0.15, outputPer1M: 0.6))
        #expect(pricing.price(for: "gpt-4o") == TokenPrice(inputPer1M: 2.5, outputPer1M: 10))
        #expect(pricing.price(for: "gpt-4.1") == TokenPrice(inputPer1M: 1, outputPer1M: 0))
        #expect(pricing.price(for: "llama3") == TokenPrice(inputPer1M: 0, outputPer1M: 3))
    }

    @Test func eitherSideSetsTheBasePriceAndTheOtherIsZero() throws {
        let output = try Self.route("[[routes]]\nname = \"r\"\nbackends = [\"a\"]\nprice_per_1m_output_tokens = 10\n")
        #expect(output.pricing.base == TokenPrice(inputPer1M: 0, outputPer1M: 10))
        let free = try Self.route("[[routes]]\nname = \"r\"\nbackends = [\"a\"]\nprice_per_1m_input_tokens = 0\n")
        #expect(free.pricing.base == TokenPrice(inputPer1M: 0, outputPer1M: 0))
        let none = try Self.route("[[routes]]\nname = \"r\"\nbackends = [\"a\"]\n")
        #expect(none.pricing == RoutePricing())
        #expect(none.pricing.price(for: "gpt-4o") == nil)
    }

    // MARK: - The environment

    @Test func environmentWinsOverTheLiteralWhenSet() throws {
        let text = """
            [[routes]]
            name = "r"
            backends = ["a"]
            price_per_1m_input_tokens = 1
            price_per_1m_input_tokens_env = "PRICE_IN"
            price_per_1m_output_tokens_env = "PRICE_OUT"
            """
        let set = try Self.route(text, environment: ["PRICE_IN": " 3.5 ", "PRICE_OUT": "12"])
        #expect(set.pricing.base == TokenPrice(inputPer1M: 3.5, outputPer1M: 12))
        let blank = try Self.route(text, environment: ["PRICE_IN": "", "PRICE_OUT": "  "])
        #expect(blank.pricing.base == TokenPrice(inputPer1M: 1, outputPer1M: 0))
        let unset = try Self.route(text, environment: [:])
        #expect(unset.pricing.base == TokenPrice(inputPer1M: 1, outputPer1M: 0))
    }

    @Test func unsetVariablesWithoutLiteralsLeaveTheRouteUnpriced() throws {
        let text = """
            [[routes]]
            name = "r"
            backends = ["a"]
            price_per_1m_input_tokens_env = "PRICE_IN"
            price_per_1m_output_tokens_env = "PRICE_OUT"
            """
        #expect(try Self.route(text).pricing.base == nil)
        let outputOnly = try Self.route(text, environment: ["PRICE_OUT": "0.6"])
        #expect(outputOnly.pricing.base == TokenPrice(inputPer1M: 0, outputPer1M: 0.6))
    }

    @Test func badEnvironmentValueNamesTheVariableAndTheKey() throws {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [backends.a]
                url = "http://a/v1"
                [[routes]]
                name = "r"
                backends = ["a"]
                price_per_1m_input_tokens_env = "PRICE_IN"
                price_per_1m_output_tokens_env = "PRICE_OUT"
                """
        )
        let errors = try #require(
            PolicyFixtures.errors([source], environment: ["PRICE_IN": "cheap", "PRICE_OUT": "-1"])
        )
        #expect(errors.map(\.code) == [.invalidValue, .invalidValue])
        #expect(
            errors[0].description
                == "p.toml:6: routes[0].price_per_1m_input_tokens_env: PRICE_IN (from the environment): "
                + "expected a number of USD, 0 or more, got 'cheap'"
        )
        #expect(errors[1].key == "routes[0].price_per_1m_output_tokens_env")
        #expect(errors[1].line == 7)
        #expect(errors[1].reason.contains("PRICE_OUT (from the environment)"))
    }

    // MARK: - Matching

    @Test func firstMatchingModelPriceWinsThenTheBase() {
        let cheap = TokenPrice(inputPer1M: 0.1, outputPer1M: 0.2)
        let dear = TokenPrice(inputPer1M: 5, outputPer1M: 15)
        let base = TokenPrice(inputPer1M: 1, outputPer1M: 2)
        let pricing = RoutePricing(
            base: base,
            models: [.init(pattern: "gpt-4o*", price: dear), .init(pattern: "gpt-4o-mini", price: cheap)]
        )
        #expect(pricing.price(for: "gpt-4o-mini") == dear)  // array order, as given
        #expect(pricing.price(for: "llama3") == base)
        #expect(RoutePricing(models: [.init(pattern: "gpt-*", price: cheap)]).price(for: "llama3") == nil)
    }

    @Test func modelPricesAreOrderedMostSpecificFirst() {
        let patterns: [ModelPattern] = ["*", "gpt-?o", "gpt-*", "b*", "gpt-4o*", "gpt-4o", "a*", "gpt-4o?", "claude"]
        let sorted = patterns.sorted { PolicyFileReader.isMoreSpecific($0, than: $1) }
        #expect(
            sorted.map(\.pattern) == ["claude", "gpt-4o", "gpt-4o?", "gpt-4o*", "gpt-?o", "gpt-*", "a*", "b*", "*"]
        )
    }

    // MARK: - Errors

    @Test func badPricesAreReportedWithLineAndKey() throws {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [backends.a]
                url = "http://a/v1"
                [[routes]]
                name = "r"
                backends = ["a"]
                price_per_1m_input_tokens = -1
                price_per_1m_output_tokens = "10"
                price_per_1m_input_tokens_env = 7
                model_prices = { "gpt-4o" = { input = -0.5, inptu = 1 }, "x" = 3, "y" = {}, "" = { input = 1 } }

                [[routes]]
                name = "s"
                backends = ["a"]
                model_prices = ["gpt-4o"]
                """
        )
        let errors = try #require(PolicyFixtures.errors([source]))
        #expect(
            errors.map(\.key) == [
                "routes[0].price_per_1m_input_tokens", "routes[0].price_per_1m_output_tokens",
                "routes[0].price_per_1m_input_tokens_env", #"routes[0].model_prices."""#,
                "routes[0].model_prices.gpt-4o.inptu", "routes[0].model_prices.gpt-4o.input",
                "routes[0].model_prices.x", "routes[0].model_prices.y", "routes[1].model_prices",
            ]
        )
        #expect(errors.map(\.line) == [6, 7, 8, 9, 9, 9, 9, 9, 14])
        #expect(
            errors.map(\.code) == [
                .invalidValue, .wrongType, .wrongType, .invalidValue, .unknownKey, .invalidValue, .wrongType,
                .missingKey, .wrongType,
            ]
        )
        #expect(errors[0].reason == "must be 0 or more")
        #expect(errors[1].reason == "expected a number, got a string")
        #expect(errors[3].reason == "model names must not be empty")
        #expect(errors[4].reason.hasSuffix("(did you mean 'input'?)"))
        #expect(errors[6].reason == "expected a table ({ input = 2.5, output = 10 }), got an integer")
        #expect(errors[8].reason == "expected a table, got an array")
    }
}
