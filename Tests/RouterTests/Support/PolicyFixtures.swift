@testable import Router

/// Policy files shared by the loader and planner tests.
enum PolicyFixtures {
    static let backends = PolicySource(
        path: "policies/10-backends.toml",
        text: """
            [backends.openai]
            type = "openai"
            url = "https://api.openai.com/v1"
            api_key_env = "OPENAI_KEY"
            model = "gpt-4o-mini"
            timeout_seconds = 45
            connect_timeout_seconds = 2.5
            circuit_breaker = { failure_threshold = 3, cooldown_seconds = 10, half_open_probes = 2 }

            [backends.vllm]
            replicas = ["http://127.0.0.1:9001/v1", "http://127.0.0.1:9002/v1/"]
            affinity = "prefix"
            affinity_prefix_chars = 256

            [backends.default]
            url_env = "TOLLGATE_UPSTREAM_URL"
            api_key_env = "TOLLGATE_UPSTREAM_API_KEY"
            """
    )

    static let routes = PolicySource(
        path: "policies/20-routes.toml",
        text: """
            [[routes]]
            name = "chat"
            kinds = ["chat", "completion"]
            models = ["gpt-*", "llama3"]
            backends = [{ backend = "openai", weight = 3 }, { backend = "vllm", weight = 1 }]
            fallbacks = ["default"]
            fallback_on = [429, 503, "timeout"]
            timeout_seconds = 90
            retry = { attempts = 2, backoff_ms = 100, max_backoff_ms = 2000, on = [502, "connect_error"] }
            cache = { enabled = true, ttl_seconds = 3600, scope = "shared", tags = ["team-a"] }

            [[routes]]
            name = "embeddings"
            kinds = ["embedding"]
            models = ["text-embedding-3-small"]
            backends = ["openai"]
            cache.enabled = false

            [aliases]
            fast = "gpt-4o-mini"
            """
    )

    static let catchAll = PolicySource(
        path: "policies/90-default.toml",
        text: """
            [[routes]]
            name = "default"
            backends = ["default"]
            """
    )

    static let environment = ["OPENAI_KEY": "sk-secret-123"]

    static func loadValid(environment: [String: String] = environment) throws -> RoutingTable {
        try PolicyLoader.load(sources: [backends, routes, catchAll], environment: environment).get()
    }

    /// The errors of a load that is expected to fail; `nil` when it succeeds.
    static func errors(_ sources: [PolicySource], environment: [String: String] = [:]) -> [PolicyError]? {
        switch PolicyLoader.load(sources: sources, environment: environment) {
        case .success: return nil
        case .failure(let errors): return errors.errors
        }
    }
}
