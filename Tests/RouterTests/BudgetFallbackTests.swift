import Testing

@testable import Router

@Suite struct BudgetFallbackTests {
    static let backends = PolicySource(path: "policies/10-backends.toml", text: "[backends.a]\nurl = \"http://a/v1\"\n")

    @Test func fallbackMayNameARouteInAnotherFileAndHaveItsOwn() throws {
        let first = PolicySource(
            path: "policies/20-chat.toml",
            text: "[[routes]]\nname = \"chat\"\nbackends = [\"a\"]\nbudget_fallback = \"cheap\"\n"
        )
        let second = PolicySource(
            path: "policies/30-cheap.toml",
            text: "[[routes]]\nname = \"cheap\"\nbackends = [\"a\"]\nbudget_fallback = \"chat\"\n"
        )
        let table = try PolicyLoader.load(sources: [Self.backends, first, second], environment: [:]).get()
        #expect(table.route(named: "chat")?.budgetFallback == "cheap")
        #expect(table.route(named: "cheap")?.budgetFallback == "chat")
    }

    @Test func unknownRouteReadsLikeACompilerError() throws {
        let routes = PolicySource(
            path: "policies/20-routes.toml",
            text: """
                [[routes]]
                name = "chat"
                backends = ["a"]

                [[routes]]
                name = "cheap"
                backends = ["a"]
                budget_fallback = "local-only"
                """
        )
        let errors = try #require(PolicyFixtures.errors([Self.backends, routes]))
        #expect(errors.map(\.code) == [.unknownReference])
        #expect(
            errors[0].description
                == "policies/20-routes.toml:8: routes[1].budget_fallback: unknown route 'local-only' (known: chat)"
        )
    }

    @Test func aRouteIsNotItsOwnFallback() throws {
        let routes = PolicySource(
            path: "p.toml",
            text: "[[routes]]\nname = \"chat\"\nbackends = [\"a\"]\nbudget_fallback = \"chat\"\n"
        )
        let errors = try #require(PolicyFixtures.errors([Self.backends, routes]))
        #expect(errors.map(\.code) == [.invalidValue])
        #expect(
            errors[0].description
                == "p.toml:4: routes[0].budget_fallback: route 'chat' cannot be its own budget fallback; "
                + "name another route or leave the key out"
        )
    }

    @Test func fallbackMustBeANonEmptyString() throws {
        let routes = PolicySource(
            path: "p.toml",
            text: """
                [[routes]]
                name = "r"
                backends = ["a"]
                budget_fallback = 3

                [[routes]]
                name = "s"
                backends = ["a"]
                budget_fallback = ""
                budget_falback = "r"
                """
        )
        let errors = try #require(PolicyFixtures.errors([Self.backends, routes]))
        #expect(
            errors.map(\.key) == ["routes[0].budget_fallback", "routes[1].budget_fallback", "routes[1].budget_falback"]
        )
        #expect(errors.map(\.line) == [4, 9, 10])
        #expect(errors[0].reason == "expected a string, got an integer")
        #expect(errors[1].reason == "must not be empty")
        #expect(errors[2].reason.hasSuffix("(did you mean 'budget_fallback'?)"))
    }
}
