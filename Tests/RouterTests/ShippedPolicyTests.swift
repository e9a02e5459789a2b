import Foundation
import Testing

@testable import Router

/// `policies/default.toml` as shipped must load in a fresh install and once prices are set.
@Suite struct ShippedPolicyTests {
    static func source() throws -> PolicySource {
        // Resolved so that the test finds the file when its folder is reached through a link.
        let test = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let file = test.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("policies/default.toml")
        return PolicySource(path: "policies/default.toml", text: try String(contentsOf: file, encoding: .utf8))
    }

    @Test func loadsWithoutAnyVariableAndLeavesRoutesUnpriced() throws {
        let table = try PolicyLoader.load(sources: [try Self.source()], environment: [:]).get()
        #expect(table.routes.map(\.name) == ["default", "embeddings-local", "embeddings", "iris"])
        // Embeddings fall back to the embedded MiniLM when no upstream is set.
        #expect(table.route(named: "embeddings")?.fallbacks == ["minilm"])
        #expect(table.backends["minilm"]?.languageModel?.path.hasSuffix("models/all-minilm-l6-v2-q8_0.gguf") == true)
        #expect(table.routes.allSatisfy { $0.pricing == RoutePricing() && $0.limits.isEmpty })
        #expect(table.routes.allSatisfy { $0.budgetFallback == nil })
    }

    @Test func pricesComeFromTheEnvironment() throws {
        let environment = [
            "TOLLGATE_UPSTREAM_URL": "https://api.openai.com/v1",
            "TOLLGATE_UPSTREAM_PRICE_INPUT": "2.5",
            "TOLLGATE_UPSTREAM_PRICE_OUTPUT": "10",
        ]
        let table = try PolicyLoader.load(sources: [try Self.source()], environment: environment).get()
        #expect(table.route(named: "default")?.pricing.base == TokenPrice(inputPer1M: 2.5, outputPer1M: 10))
        #expect(table.route(named: "embeddings")?.pricing.base == TokenPrice(inputPer1M: 2.5, outputPer1M: 0))
        #expect(table.route(named: "iris")?.pricing.base == nil)
    }

    @Test func aBadPriceVariableIsReportedOnEveryRouteThatReadsIt() throws {
        let errors = try #require(
            PolicyFixtures.errors([try Self.source()], environment: ["TOLLGATE_UPSTREAM_PRICE_INPUT": "$2.50"])
        )
        #expect(
            errors.map(\.key) == [
                "routes[0].price_per_1m_input_tokens_env", "routes[2].price_per_1m_input_tokens_env",
            ]
        )
        #expect(errors.allSatisfy { $0.reason.contains("TOLLGATE_UPSTREAM_PRICE_INPUT (from the environment)") })
    }
}
