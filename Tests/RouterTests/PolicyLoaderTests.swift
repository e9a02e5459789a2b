import Foundation
import Testing

@testable import Router

@Suite struct PolicyLoaderTests {
    // MARK: - A valid policy

    @Test func fullMultiFilePolicyParsesIntoTheTable() throws {
        let table = try PolicyFixtures.loadValid()
        #expect(table.routes.map(\.name) == ["chat", "embeddings", "default"])
        #expect(table.aliases == ["fast": "gpt-4o-mini"])

        let chat = try #require(table.route(named: "chat"))
        #expect(chat.kinds == [.chat, .completion])
        #expect(chat.models.map(\.pattern) == ["gpt-*", "llama3"])
        #expect(chat.backends == [.init(backend: "openai", weight: 3), .init(backend: "vllm", weight: 1)])
        #expect(chat.fallbacks == ["default"])
        #expect(chat.fallbackOn == FailureSet(statuses: [429, 503], timeout: true))
        #expect(chat.timeoutSeconds == 90)
        #expect(
            chat.retry
                == RetryPolicy(
                    attempts: 2,
                    baseBackoff: 0.1,
                    maxBackoff: 2,
                    retryOn: .init(statuses: [502], connectError: true)
                )
        )
        #expect(chat.cache == CachePolicy(enabled: true, ttlSeconds: 3600, scope: .shared, tags: ["team-a"]))
        #expect(chat.file == "policies/20-routes.toml")
        #expect(chat.line == 1)

        let embeddings = try #require(table.route(named: "embeddings"))
        #expect(embeddings.cache.enabled == false)
        #expect(embeddings.line == 12)

        let fallback = try #require(table.route(named: "default"))
        #expect(fallback.kinds == EndpointKind.allCases)
        #expect(fallback.models == ["*"])
        #expect(fallback.fallbackOn == .defaultFallback)
        #expect(fallback.retry == RetryPolicy())
        #expect(fallback.cache == CachePolicy())

        let openai = try #require(table.backends["openai"])
        #expect(openai.replicas == ["https://api.openai.com/v1"])
        #expect(openai.apiKeyEnv == "OPENAI_KEY")
        #expect(openai.apiKey == "sk-secret-123")
        #expect(openai.upstreamModel == "gpt-4o-mini")
        #expect(openai.timeoutSeconds == 45)
        #expect(openai.connectTimeoutSeconds == 2.5)
        #expect(
            openai.circuitBreaker == CircuitBreakerConfig(failureThreshold: 3, cooldownSeconds: 10, halfOpenProbes: 2)
        )
        #expect(openai.affinity == .none)
        #expect(openai.line == 1)

        let vllm = try #require(table.backends["vllm"])
        #expect(vllm.replicas == ["http://127.0.0.1:9001/v1", "http://127.0.0.1:9002/v1"])
        #expect(vllm.affinity == .prefix(chars: 256))
        #expect(vllm.apiKey == nil)
        #expect(vllm.timeoutSeconds == 60)
        #expect(vllm.circuitBreaker == CircuitBreakerConfig())
    }

    @Test func contractExampleLoads() throws {
        // docs/contracts.md, with `url` dropped (it lists both url and replicas to show the
        // keys) and the backends its route names defined.
        let source = PolicySource(
            path: "policies/contract.toml",
            text: """
                [backends.openai]
                type = "openai"                        # OpenAI-compatible HTTP upstream (only type for now)
                url_env = "TOLLGATE_UPSTREAM_URL"      # ... or taken from this env var (wins when set)
                api_key_env = "TOLLGATE_UPSTREAM_API_KEY"  # optional; sent as Authorization: Bearer
                replicas = ["http://127.0.0.1:9001/v1", "http://127.0.0.1:9002/v1"]  # instead of url
                affinity = "prefix"                    # "prefix" (consistent hash on prompt prefix) | "none"
                affinity_prefix_chars = 512
                model = "gpt-4o-mini"                  # optional: model name sent upstream
                timeout_seconds = 60                   # whole-response timeout for this backend
                connect_timeout_seconds = 5
                circuit_breaker = { failure_threshold = 5, cooldown_seconds = 30, half_open_probes = 1 }

                [backends.vllm]
                url = "http://127.0.0.1:8000/v1"
                [backends.local]
                url = "http://127.0.0.1:8001/v1"

                [[routes]]
                name = "chat"
                kinds = ["chat", "completion"]         # chat | completion | embedding | predict
                models = ["gpt-*", "llama3"]           # exact names or globs (* ?)
                backends = [{ backend = "openai", weight = 3 }, { backend = "vllm", weight = 1 }]  # or ["openai"]
                fallbacks = ["local"]                  # ordered, tried after the primaries fail
                fallback_on = [429, 500, 502, 503, 504, "timeout", "connect_error"]
                timeout_seconds = 120                  # whole request, all attempts
                retry = { attempts = 2, backoff_ms = 100, max_backoff_ms = 2000, on = [502, 503, "connect_error"] }
                cache = { enabled = true, ttl_seconds = 3600, scope = "tenant", tags = ["team-a"] }

                [aliases]
                fast = "gpt-4o-mini"                   # public name -> model name used for matching
                """
        )
        let table = try PolicyLoader.load(sources: [source], environment: [:]).get()
        let openai = try #require(table.backends["openai"])
        #expect(openai.replicas == ["http://127.0.0.1:9001/v1", "http://127.0.0.1:9002/v1"])
        #expect(openai.affinity == .prefix(chars: 512))
        #expect(openai.unconfiguredReason == nil)
        let chat = try #require(table.route(named: "chat"))
        #expect(chat.fallbackOn == .defaultFallback)
        #expect(chat.retry.retryOn == FailureSet(statuses: [502, 503], connectError: true))
        #expect(table.resolve(kind: .completion, model: "fast")?.route.name == "chat")

        let fromEnvironment = try PolicyLoader.load(
            sources: [source],
            environment: ["TOLLGATE_UPSTREAM_URL": "https://api.openai.com/v1"]
        ).get()
        #expect(fromEnvironment.backends["openai"]?.replicas == ["https://api.openai.com/v1"])
    }

    @Test func noFilesGiveAnEmptyTable() throws {
        let table = try PolicyLoader.load(sources: [], environment: [:]).get()
        #expect(table.routes.isEmpty)
        #expect(table.resolve(kind: .chat, model: "gpt-4o") == nil)
    }

    // MARK: - The environment

    @Test func unsetURLVariableLoadsAsUnconfigured() throws {
        let table = try PolicyFixtures.loadValid(environment: [:])
        let backend = try #require(table.backends["default"])
        #expect(backend.replicas.isEmpty)
        #expect(!backend.isConfigured)
        #expect(
            backend.unconfiguredReason
                == "no upstream configured for backend 'default': set TOLLGATE_UPSTREAM_URL (base URL ending in /v1) "
                + "and TOLLGATE_UPSTREAM_API_KEY"
        )
    }

    @Test func urlVariableWinsAndKeyComesFromTheEnvironment() throws {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [backends.default]
                url = "https://fallback.example/v1"
                url_env = "UP_URL"
                api_key_env = "UP_KEY"
                """
        )
        let environment = ["UP_URL": " http://10.0.0.1:8000/v1 , http://10.0.0.2:8000/v1/ ", "UP_KEY": "k"]
        let table = try PolicyLoader.load(sources: [source], environment: environment).get()
        let backend = try #require(table.backends["default"])
        #expect(backend.replicas == ["http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1"])
        #expect(backend.apiKey == "k")
        #expect(backend.unconfiguredReason == nil)

        let unset = try PolicyLoader.load(sources: [source], environment: ["UP_URL": ""]).get()
        #expect(unset.backends["default"]?.replicas == ["https://fallback.example/v1"])
    }

    @Test func badURLInTheEnvironmentIsReportedAgainstURLEnv() throws {
        let source = PolicySource(path: "p.toml", text: "[backends.x]\nurl_env = \"UP\"\n")
        let errors = try #require(Self.errors([source], environment: ["UP": "localhost:8000"]))
        #expect(errors.map(\.key) == ["backends.x.url_env"])
        #expect(errors[0].line == 2)
        #expect(errors[0].reason.contains("UP (from the environment)"))
    }

    @Test func adminEncodingNeverShowsTheKey() throws {
        let table = try PolicyFixtures.loadValid()
        let json = String(decoding: try JSONEncoder().encode(table), as: UTF8.self)
        #expect(!json.contains("sk-secret-123"))
        #expect(json.contains(#""api_key_env":"OPENAI_KEY""#))
        #expect(json.contains(#""api_key_present":true"#))
        #expect(json.contains(#""fallback_on":[429,503,"timeout"]"#))
    }

    // MARK: - Errors

    @Test func syntaxErrorNamesFileLineAndColumnAndOtherFilesAreStillChecked() throws {
        let broken = PolicySource(path: "policies/a.toml", text: "[[routes]]\nname = \"x\"\nmodels = [\"a\" \"b\"]\n")
        let typo = PolicySource(path: "policies/b.toml", text: "[backends.x]\nurl = \"http://h/v1\"\ntimout = 3\n")
        let errors = try #require(Self.errors([broken, typo]))
        #expect(errors.count == 2)
        #expect(errors[0].code == .syntax)
        #expect(errors[0].file == "policies/a.toml")
        #expect(errors[0].line == 3)
        #expect(errors[0].column != nil)
        #expect(errors[0].description.hasPrefix("policies/a.toml:3:"))
        #expect(errors[1].file == "policies/b.toml")
        #expect(errors[1].key == "backends.x.timout")
    }

    @Test func unknownKeyNamesThePlaceAndSuggestsTheFix() throws {
        let source = PolicySource(
            path: "policies/r.toml",
            text: """
                [backends.a]
                url = "http://a/v1"

                [[routes]]
                name = "one"
                backends = ["a"]

                [[routes]]
                name = "two"
                modles = ["x"]
                backends = ["a"]
                """
        )
        let error = try #require(Self.errors([source])?.first)
        #expect(error.code == .unknownKey)
        #expect(error.line == 10)
        #expect(error.key == "routes[1].modles")
        #expect(error.reason.hasPrefix("unknown key 'modles' in routes[1]; expected one of backends, budget_fallback,"))
        #expect(error.reason.hasSuffix("(did you mean 'models'?)"))
    }

    @Test func wrongTypesSayWhatWasExpected() throws {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [backends.a]
                url = "http://a/v1"
                timeout_seconds = "60"

                [[routes]]
                name = "r"
                models = "gpt-4o"
                kinds = ["chat", 7]
                backends = ["a"]
                cache = { enabled = "yes" }
                """
        )
        let errors = try #require(Self.errors([source]))
        #expect(errors.allSatisfy { $0.code == .wrongType })
        #expect(
            errors.map(\.key) == [
                "backends.a.timeout_seconds", "routes[0].models", "routes[0].kinds", "routes[0].cache.enabled",
            ]
        )
        #expect(errors.map(\.line) == [3, 7, 8, 10])
        #expect(errors[0].reason == "expected a number, got a string")
        #expect(errors[1].reason == "expected an array of strings, got a string")
        #expect(errors[2].reason == "expected an array of strings, but element 1 is an integer")
    }

    @Test func badURLsAreRejected() throws {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [backends.a]
                url = "ftp://a/v1"

                [backends.b]
                url = "http://b:8000"

                [backends.c]
                replicas = [
                    "http://c1/v1",
                    "http://user:pw@c2/v1",
                    "http://c1/v1/",
                ]

                [backends.d]
                url = "https://:99999/v1"
                """
        )
        let errors = try #require(Self.errors([source]))
        #expect(
            errors.map(\.key) == [
                "backends.a.url", "backends.b.url", "backends.c.replicas", "backends.c.replicas", "backends.d.url",
            ]
        )
        #expect(errors.map(\.line) == [2, 5, 10, 11, 15])
        #expect(errors[0].reason.contains("not an http:// or https:// URL"))
        #expect(errors[1].reason.contains("must end in /v1"))
        #expect(errors[2].reason.contains("credentials"))
        #expect(errors[3].reason.contains("listed twice"))
        #expect(errors[4].reason.contains("host[:port]"))
    }

    @Test func unknownBackendReferenceReadsLikeACompilerError() throws {
        let backends = PolicySource(
            path: "policies/a.toml",
            text: "[backends.openai]\nurl = \"https://api.openai.com/v1\"\n[backends.vllm]\nurl = \"http://v/v1\"\n"
        )
        let routes = PolicySource(
            path: "policies/b.toml",
            text: """
                [[routes]]
                name = "one"
                backends = ["openai"]

                [[routes]]
                name = "two"
                backends = ["openai"]

                [[routes]]
                name = "three"
                backends = [
                    "openai",
                    { backend = "vlm", weight = 2 },
                ]
                fallbacks = ["locl"]
                """
        )
        let errors = try #require(Self.errors([backends, routes]))
        #expect(errors.map(\.code) == [.unknownReference, .unknownReference])
        #expect(
            errors[0].description
                == "policies/b.toml:13: routes[2].backends: unknown backend 'vlm' (known: openai, vllm)"
        )
        #expect(
            errors[1].description
                == "policies/b.toml:15: routes[2].fallbacks: unknown backend 'locl' (known: openai, vllm)"
        )
    }

    @Test func duplicateNamesAcrossFilesPointAtTheFirstDefinition() throws {
        let first = PolicySource(
            path: "policies/a.toml",
            text: "[backends.x]\nurl = \"http://x/v1\"\n\n[[routes]]\nname = \"r\"\nbackends = [\"x\"]\n"
        )
        let second = PolicySource(
            path: "policies/b.toml",
            text: "[[routes]]\nname = \"r\"\nbackends = [\"x\"]\n\n[backends.x]\nurl = \"http://y/v1\"\n"
        )
        let errors = try #require(Self.errors([first, second]))
        #expect(errors.map(\.code) == [.duplicate, .duplicate])
        #expect(
            errors[0].description
                == "policies/b.toml:2: routes[0].name: duplicate route name 'r' (first defined at policies/a.toml:4)"
        )
        #expect(
            errors[1].description
                == "policies/b.toml:5: backends.x: duplicate backend 'x' (first defined at policies/a.toml:1)"
        )
    }

    @Test func weightsMustBePositive() throws {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [backends.a]
                url = "http://a/v1"
                [backends.b]
                url = "http://b/v1"

                [[routes]]
                name = "r"
                backends = [{ backend = "a", weight = 0 }, { backend = "b", weight = -1.5 }]
                """
        )
        let errors = try #require(Self.errors([source]))
        #expect(errors.map(\.key) == ["routes[0].backends[0].weight", "routes[0].backends[1].weight"])
        #expect(errors.allSatisfy { $0.line == 8 && $0.reason == "must be greater than 0" })
    }

    @Test func unknownKindListsTheKinds() throws {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [backends.a]
                url = "http://a/v1"
                [[routes]]
                name = "r"
                kinds = ["chat", "chatt"]
                backends = ["a"]
                """
        )
        let error = try #require(Self.errors([source])?.first)
        #expect(
            error.description
                == "p.toml:5: routes[0].kinds: unknown kind 'chatt'; "
                + "expected one of chat, completion, embedding, predict"
        )
    }

    @Test func aliasesToThemselvesOrToAliasesAreRejected() throws {
        let source = PolicySource(
            path: "p.toml",
            text: """
                [aliases]
                self = "self"
                a = "b"
                b = "a"
                c = "a"
                ok = "gpt-4o"
                """
        )
        let errors = try #require(Self.errors([source]))
        #expect(errors.allSatisfy { $0.code == .aliasCycle })
        #expect(errors.map(\.key) == ["aliases.self", "aliases.a", "aliases.b", "aliases.c"])
        #expect(errors.map(\.line) == [2, 3, 4, 5])
        #expect(errors[0].reason == "alias 'self' points to itself")
        #expect(errors[1].reason == "alias cycle: a -> b -> a")
        #expect(errors[3].reason.hasPrefix("alias 'c' points to 'a', which is itself an alias"))
    }

    @Test func emptyOrMissingBackendListsAreRejected() throws {
        let source = PolicySource(
            path: "p.toml",
            text: "[[routes]]\nname = \"empty\"\nbackends = []\n\n[[routes]]\nname = \"missing\"\n"
        )
        let errors = try #require(Self.errors([source]))
        #expect(errors.map(\.code) == [.invalidValue, .missingKey])
        #expect(errors[0].description == "p.toml:3: routes[0].backends: must list at least one backend")
        #expect(errors[1].description == "p.toml:5: routes[1]: missing required key 'backends'")
    }

    @Test func everyProblemIsReportedAtOnceInLineOrder() throws {
        let source = PolicySource(
            path: "policies/all.toml",
            text: """
                [backends.a]
                url = "http://a"
                typ = "openai"
                affinity = "sticky"

                [[routes]]
                name = "r"
                kinds = ["chat"]
                backends = ["a", "ghost"]
                retry = { attempts = 50 }
                fallback_on = [200, "oops"]
                cache = { scope = "global", ttl_seconds = 0 }

                [[routes]]
                name = "r"
                backends = ["a", "a"]

                [aliases]
                loop = "loop"
                """
        )
        let errors = try #require(Self.errors([source]))
        #expect(errors.map(\.line) == [2, 3, 4, 9, 10, 11, 11, 12, 12, 15, 16, 19])
        #expect(
            errors.map(\.key) == [
                "backends.a.url", "backends.a.typ", "backends.a.affinity", "routes[0].backends",
                "routes[0].retry.attempts", "routes[0].fallback_on", "routes[0].fallback_on",
                "routes[0].cache.ttl_seconds", "routes[0].cache.scope", "routes[1].name", "routes[1].backends",
                "aliases.loop",
            ]
        )
        #expect(errors[1].reason.contains("did you mean 'type'?"))
        #expect(errors[4].reason == "must be between 0 and 10, got 50")
    }

    @Test func topLevelShapeErrors() throws {
        let source = PolicySource(path: "p.toml", text: "routes = { name = \"x\" }\nbackend = 1\n[backends]\nx = 3\n")
        let errors = try #require(Self.errors([source]))
        #expect(errors.map(\.key) == ["routes", "backend", "backends.x"])
        #expect(errors[0].reason == "expected an array of tables ([[routes]]), got a table")
        #expect(errors[1].reason.hasSuffix("(did you mean 'backends'?)"))
        #expect(errors[2].reason == "expected a table ([backends.x]), got an integer")
    }

    @Test func urlAndReplicasTogetherAreAmbiguous() throws {
        let source = PolicySource(
            path: "p.toml",
            text: "[backends.a]\nurl = \"http://a/v1\"\nreplicas = [\"http://b/v1\"]\n"
        )
        let error = try #require(Self.errors([source])?.first)
        #expect(error.key == "backends.a.replicas")
        #expect(error.reason == "set either url or replicas, not both")
    }

    @Test func backendWithoutAnyLocationIsRejected() throws {
        let source = PolicySource(path: "p.toml", text: "[backends.a]\nmodel = \"m\"\n")
        let error = try #require(Self.errors([source])?.first)
        #expect(error.code == .missingKey)
        #expect(error.line == 1)
        #expect(error.reason == "backend 'a' needs url, url_env or replicas")
    }

    private static func errors(_ sources: [PolicySource], environment: [String: String] = [:]) -> [PolicyError]? {
        switch PolicyLoader.load(sources: sources, environment: environment) {
        case .success: return nil
        case .failure(let errors): return errors.errors
        }
    }
}
