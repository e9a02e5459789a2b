import Foundation
import Testing

@testable import Router

@Suite struct UsageLimitsTests {
    static let limited = PolicySource(
        path: "policies/30-limits.toml",
        text: """
            [backends.a]
            url = "http://a/v1"

            [[routes]]
            name = "chat"
            backends = ["a"]
            price_per_1m_input_tokens = 2.5
            price_per_1m_output_tokens = 10
            model_prices = { "gpt-4o" = { input = 2.5, output = 10 } }
            limits = { rpm = 600, tpm = 200000, soft_threshold = 0.8, budgets = [
                { usd = 50, period = "day" },
                { usd = 5, period = "day", rolling = true },
                { usd = 100.5, period = "month" },
                { usd = 1000, period = "total" },
            ] }
            budget_fallback = "local-only"

            [[routes]]
            name = "local-only"
            backends = ["a"]
            [routes.limits]
            rpm = 10
            """
    )

    @Test func limitsAreRead() throws {
        let table = try PolicyLoader.load(sources: [Self.limited], environment: [:]).get()
        let chat = try #require(table.route(named: "chat"))
        #expect(
            chat.limits
                == UsageLimits(
                    requestsPerMinute: 600,
                    tokensPerMinute: 200_000,
                    budgets: [
                        BudgetLimit(usd: 50, period: .day),
                        BudgetLimit(usd: 5, period: .day, rolling: true),
                        BudgetLimit(usd: 100.5, period: .month),
                        BudgetLimit(usd: 1000, period: .total),
                    ],
                    softThreshold: 0.8
                )
        )
        #expect(chat.budgetFallback == "local-only")
        let local = try #require(table.route(named: "local-only"))
        #expect(local.limits == UsageLimits(requestsPerMinute: 10))
        #expect(local.budgetFallback == nil)
    }

    @Test func isEmptyMeansNoLimitOfAnyKind() {
        #expect(UsageLimits().isEmpty)
        #expect(UsageLimits(softThreshold: 0.5).isEmpty)
        #expect(!UsageLimits(requestsPerMinute: 1).isEmpty)
        #expect(!UsageLimits(tokensPerMinute: 1).isEmpty)
        #expect(!UsageLimits(budgets: [BudgetLimit(usd: 1, period: .week)]).isEmpty)
        #expect(RoutePolicy(name: "r", backends: []).limits.isEmpty)
    }

    @Test func badLimitsAreReportedWithLineAndKey() throws {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [backends.a]
                url = "http://a/v1"
                [[routes]]
                name = "r"
                backends = ["a"]
                limits = { rpm = 0, tpm = "many", soft_threshold = 1.5, rmp = 3 }

                [[routes]]
                name = "s"
                backends = ["a"]
                limits = { soft_threshold = 0, budgets = [
                    { usd = 0, period = "day" },
                    { usd = -1, period = "year" },
                    { usd = 5, perod = "day", rolling = "yes" },
                    { period = "week" },
                    "daily",
                ] }

                [[routes]]
                name = "t"
                backends = ["a"]
                limits = { budgets = { usd = 1, period = "day" } }

                [[routes]]
                name = "u"
                backends = ["a"]
                limits = 5
                """
        )
        let errors = try #require(PolicyFixtures.errors([source]))
        #expect(
            errors.map(\.key) == [
                "routes[0].limits.rmp", "routes[0].limits.rpm", "routes[0].limits.tpm",
                "routes[0].limits.soft_threshold", "routes[1].limits.soft_threshold",
                "routes[1].limits.budgets[0].usd", "routes[1].limits.budgets[1].usd",
                "routes[1].limits.budgets[1].period", "routes[1].limits.budgets[2].perod",
                "routes[1].limits.budgets[2]", "routes[1].limits.budgets[2].rolling",
                "routes[1].limits.budgets[3]", "routes[1].limits.budgets", "routes[2].limits.budgets",
                "routes[3].limits",
            ]
        )
        #expect(errors.map(\.line) == [6, 6, 6, 6, 11, 12, 13, 13, 14, 14, 14, 15, 16, 22, 27])
        #expect(
            errors.map(\.code) == [
                .unknownKey, .invalidValue, .wrongType, .invalidValue, .invalidValue, .invalidValue, .invalidValue,
                .invalidValue, .unknownKey, .missingKey, .wrongType, .missingKey, .wrongType, .wrongType, .wrongType,
            ]
        )
        #expect(errors[0].reason.hasPrefix("unknown key 'rmp' in routes[0].limits; expected one of budgets, rpm,"))
        #expect(errors[0].reason.hasSuffix("(did you mean 'rpm'?)"))
        #expect(errors[1].reason == "must be at least 1, got 0")
        #expect(errors[2].reason == "expected an integer, got a string")
        #expect(errors[3].reason == "must be greater than 0 and at most 1 (a share of the budget)")
        #expect(errors[5].reason == "must be greater than 0")
        #expect(errors[7].reason == "unknown period 'year'; expected one of day, week, month, total")
        #expect(errors[8].reason.hasSuffix("(did you mean 'period'?)"))
        #expect(errors[11].reason == "a budget needs usd, the dollars it allows per period")
        #expect(
            errors[12].reason
                == "expected an array of { usd = N, period = \"day\" } tables, but element 4 is a string"
        )
        #expect(errors[14].reason == "expected a table, got an integer")
    }

    // MARK: - Admin view

    @Test func adminEncodingShowsPricingLimitsAndBudgetFallback() throws {
        let table = try PolicyLoader.load(sources: [Self.limited], environment: [:]).get()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let chat = String(decoding: try encoder.encode(try #require(table.route(named: "chat"))), as: UTF8.self)
        #expect(chat.contains(#""budget_fallback":"local-only""#))
        #expect(
            chat.contains(
                #""pricing":{"base":{"input_per_1m":2.5,"output_per_1m":10},"#
                    + #""models":[{"pattern":"gpt-4o","price":{"input_per_1m":2.5,"output_per_1m":10}}]}"#
            )
        )
        #expect(chat.contains(#""limits":{"budgets":[{"period":"day","rolling":false,"usd":50},"#))
        #expect(chat.contains(#"{"period":"day","rolling":true,"usd":5}"#))
        #expect(chat.contains(#""rpm":600,"soft_threshold":0.8,"tpm":200000}"#))

        let local = String(decoding: try encoder.encode(try #require(table.route(named: "local-only"))), as: UTF8.self)
        #expect(!local.contains("budget_fallback"))
        #expect(local.contains(#""limits":{"budgets":[],"rpm":10}"#))
        #expect(local.contains(#""pricing":{"models":[]}"#))
    }
}
