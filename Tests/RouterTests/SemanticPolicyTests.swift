import Testing

@testable import Router

/// `cache.semantic` on a route: read with its defaults, and every mistake named.
@Suite struct SemanticPolicyTests {
    static func load(_ cache: String) -> Result<RoutingTable, PolicyErrors> {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [backends.up]
                url = "http://127.0.0.1:9/v1"

                [backends.minilm]
                type = "gguf"
                file = "/models/minilm.gguf"

                [[routes]]
                name = "r"
                kinds = ["chat"]
                models = ["*"]
                backends = ["up"]
                cache = \(cache)
                """)
        return PolicyLoader.load(sources: [source], environment: [:])
    }

    @Test func readsTheEncoderThresholdAndMessages() throws {
        let table = try Self.load(#"{ semantic = { encoder = "minilm", threshold = 0.9, messages = "all" } }"#).get()
        #expect(table.routes[0].cache.semantic == SemanticCachePolicy(encoder: "minilm", threshold: 0.9, messages: .all))
        let defaults = try Self.load(#"{ semantic = { encoder = "minilm" } }"#).get()
        #expect(defaults.routes[0].cache.semantic == SemanticCachePolicy(encoder: "minilm", threshold: 0.95, messages: .lastUser))
        #expect(try Self.load("{ enabled = true }").get().routes[0].cache.semantic == nil)
    }

    @Test(arguments: [
        (#"{ semantic = { threshold = 0.9 } }"#, "encoder"),
        (#"{ semantic = { encoder = "minilm", threshold = 1.5 } }"#, "threshold"),
        (#"{ semantic = { encoder = "minilm", threshold = 0 } }"#, "threshold"),
        (#"{ semantic = { encoder = "minilm", messages = "some" } }"#, "messages"),
        (#"{ semantic = { encoder = "nope" } }"#, "unknown backend 'nope'"),
        (#"{ semantic = { encoder = "up" } }"#, "not a gguf backend"),
        (#"{ semantic = { encoder = "minilm", k = 1 } }"#, "k"),
    ])
    func mistakesAreNamed(cache: String, mention: String) throws {
        guard case .failure(let errors) = Self.load(cache) else {
            Issue.record("expected an error for \(cache)")
            return
        }
        #expect(errors.errors.contains { $0.key.contains("semantic") && ($0.key.contains(mention) || $0.reason.contains(mention)) },
                "\(errors.errors.map { "\($0.key): \($0.reason)" })")
    }
}
