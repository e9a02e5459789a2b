import Testing

@testable import Router

@Suite struct RoutingTableTests {
    private static let backend = BackendPolicy(name: "up", replicas: ["http://up/v1"])

    private static func route(
        _ name: String,
        kinds: [EndpointKind] = EndpointKind.allCases,
        _ models: ModelPattern...
    )
        -> RoutePolicy
    {
        RoutePolicy(name: name, kinds: kinds, models: models, backends: [.init(backend: "up")])
    }

    @Test func globsMatchRunsAndSingleCharacters() {
        let table = RoutingTable(
            routes: [Self.route("gpt", "gpt-4o*"), Self.route("llama", "llama3.?-8b"), Self.route("emoji", "m?del")],
            backends: [Self.backend]
        )
        #expect(table.resolve(kind: .chat, model: "gpt-4o")?.route.name == "gpt")
        #expect(table.resolve(kind: .chat, model: "gpt-4o-mini")?.route.name == "gpt")
        #expect(table.resolve(kind: .chat, model: "gpt-4")?.route.name == nil)
        #expect(table.resolve(kind: .chat, model: "llama3.1-8b")?.route.name == "llama")
        #expect(table.resolve(kind: .chat, model: "llama3.10-8b") == nil)
        #expect(table.resolve(kind: .chat, model: "m\u{E9}del")?.route.name == "emoji")
        #expect(table.resolve(kind: .chat, model: "GPT-4o") == nil)
    }

    @Test func firstMatchWinsWhetherExactOrGlob() {
        let table = RoutingTable(
            routes: [
                Self.route("special", "gpt-4o-mini"),
                Self.route("family", "gpt-*"),
                Self.route("exact-after-glob", "gpt-4o"),
                Self.route("everything", "*"),
            ],
            backends: [Self.backend]
        )
        #expect(table.resolve(kind: .chat, model: "gpt-4o-mini")?.route.name == "special")
        #expect(table.resolve(kind: .chat, model: "gpt-4o")?.route.name == "family")
        #expect(table.resolve(kind: .chat, model: "mistral")?.route.name == "everything")
    }

    @Test func kindsFilterRoutes() {
        let table = RoutingTable(
            routes: [
                Self.route("chat", kinds: [.chat, .completion], "gpt-4o"),
                Self.route("embed", kinds: [.embedding], "gpt-4o"),
                Self.route("glob-embed", kinds: [.embedding], "text-*"),
            ],
            backends: [Self.backend]
        )
        #expect(table.resolve(kind: .chat, model: "gpt-4o")?.route.name == "chat")
        #expect(table.resolve(kind: .completion, model: "gpt-4o")?.route.name == "chat")
        #expect(table.resolve(kind: .embedding, model: "gpt-4o")?.route.name == "embed")
        #expect(table.resolve(kind: .predict, model: "gpt-4o") == nil)
        #expect(table.resolve(kind: .chat, model: "text-embedding-3") == nil)
        #expect(table.resolve(kind: .embedding, model: "text-embedding-3")?.route.name == "glob-embed")
    }

    @Test func aliasesResolveOneLevelBeforeMatching() throws {
        let table = RoutingTable(
            routes: [Self.route("mini", "gpt-4o-mini"), Self.route("other", "fast")],
            backends: [Self.backend],
            aliases: ["fast": "gpt-4o-mini", "chained": "fast"]
        )
        let match = try #require(table.resolve(kind: .chat, model: "fast"))
        #expect(match.route.name == "mini")
        #expect(match.requestedModel == "fast")
        #expect(match.model == "gpt-4o-mini")
        #expect(match.isAlias)
        // One level only: `chained` becomes `fast`, which is then matched as a model name.
        #expect(table.resolve(kind: .chat, model: "chained")?.route.name == "other")
        #expect(table.resolve(kind: .chat, model: "gpt-4o-mini")?.isAlias == false)
    }

    @Test func noMatchIsNil() {
        let table = RoutingTable(routes: [Self.route("a", kinds: [.chat], "a")], backends: [Self.backend])
        #expect(table.resolve(kind: .chat, model: "b") == nil)
        #expect(RoutingTable.empty.resolve(kind: .chat, model: "a") == nil)
    }

    @Test func modelNamesListConcreteNamesAndAliases() {
        let table = RoutingTable(
            routes: [Self.route("a", "gpt-4o", "gpt-*", "llama3"), Self.route("b", "llama3", "bert")],
            backends: [Self.backend],
            aliases: ["zeta": "bert", "fast": "gpt-4o", "gpt-4o": "gpt-4o-2024"]
        )
        #expect(table.modelNames == ["gpt-4o", "llama3", "bert", "fast", "zeta"])
    }

    @Test func ringsAreBuiltOnlyForAffinityBackendsWithReplicas() {
        let table = RoutingTable(
            routes: [],
            backends: [
                BackendPolicy(name: "sticky", replicas: ["http://a/v1", "http://b/v1"], affinity: .prefix(chars: 64)),
                BackendPolicy(name: "single", replicas: ["http://a/v1"], affinity: .prefix(chars: 64)),
                BackendPolicy(name: "spread", replicas: ["http://a/v1", "http://b/v1"]),
            ]
        )
        #expect(table.ring(forBackend: "sticky")?.replicas == ["http://a/v1", "http://b/v1"])
        #expect(table.ring(forBackend: "single") == nil)
        #expect(table.ring(forBackend: "spread") == nil)
    }
}
