/// One upstream a route can send requests to (`[backends.<name>]` in a policy file),
/// with its URLs and key already resolved from the environment.
public struct BackendPolicy: Sendable, Hashable {
    /// The protocol spoken to the upstream.
    public enum BackendType: String, Sendable, Hashable, Encodable, CaseIterable {
        /// An OpenAI-compatible HTTP API (OpenAI, vLLM, llama.cpp server, Ollama, ...).
        case openai
        /// A tree-ensemble model file evaluated in-process (`/v1/predict`, `/v2/models`).
        case forest
        /// A GGUF language model run in-process (chat and completions).
        case gguf
    }

    /// How a request picks among the backend's replicas.
    public enum Affinity: Sendable, Hashable {
        /// Any replica; the order is rotated at random per request to spread load.
        case none
        /// Consistent hashing on the first `chars` characters of the prompt, so requests
        /// sharing a prefix reach the replica whose KV cache already holds it.
        case prefix(chars: Int)
    }

    /// The name routes refer to it by.
    public var name: String
    /// Default ``BackendType/openai``.
    public var type: BackendType
    /// The model file and its presentation, for ``BackendType/forest`` backends.
    public var forest: ForestModelSpec?
    /// The model file and how to run it, for ``BackendType/gguf`` backends.
    public var languageModel: LanguageModelSpec?
    /// Base URLs ending in `/v1` (no trailing slash), one per replica. Empty exactly when
    /// ``unconfiguredReason`` is set.
    public var replicas: [String]
    /// The environment variable the key was read from (shown to admins instead of the key).
    public var apiKeyEnv: String?
    /// The key sent as `Authorization: Bearer`; `nil` when `api_key_env` is absent or unset.
    public var apiKey: String?
    /// The model name sent upstream; `nil` sends the name the route resolved.
    public var upstreamModel: String?
    /// Default ``Affinity/none``; `affinity = "prefix"` defaults to 512 characters.
    public var affinity: Affinity
    /// Seconds for one whole attempt, first byte to last. Default 60.
    public var timeoutSeconds: Double
    /// Seconds to establish a connection. Default 5.
    public var connectTimeoutSeconds: Double
    /// Per replica; see ``CircuitBreakerConfig`` for its defaults.
    public var circuitBreaker: CircuitBreakerConfig
    /// Set when the backend takes its URL from an environment variable that is unset:
    /// the policy still loads (so a fresh install starts), and requests routed here are
    /// answered 503 with this text, which names the variables to set.
    public var unconfiguredReason: String?
    /// The policy file that defined the backend.
    public var file: String
    /// The line of its `[backends.<name>]` header, when known.
    public var line: Int?

    public init(
        name: String,
        type: BackendType = .openai,
        replicas: [String],
        apiKeyEnv: String? = nil,
        apiKey: String? = nil,
        upstreamModel: String? = nil,
        affinity: Affinity = .none,
        timeoutSeconds: Double = 60,
        connectTimeoutSeconds: Double = 5,
        circuitBreaker: CircuitBreakerConfig = CircuitBreakerConfig(),
        unconfiguredReason: String? = nil,
        file: String = "",
        line: Int? = nil
    ) {
        self.name = name
        self.type = type
        self.replicas = replicas
        self.apiKeyEnv = apiKeyEnv
        self.apiKey = apiKey
        self.upstreamModel = upstreamModel
        self.affinity = affinity
        self.timeoutSeconds = timeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.circuitBreaker = circuitBreaker
        self.unconfiguredReason = unconfiguredReason
        self.file = file
        self.line = line
    }

    /// Characters of prompt prefix to hash for replica affinity; `nil` without affinity.
    public var affinityPrefixChars: Int? {
        if case .prefix(let chars) = affinity { return chars }
        return nil
    }

    /// Whether requests can be sent here.
    public var isConfigured: Bool {
        unconfiguredReason == nil && (forest != nil || languageModel != nil || !replicas.isEmpty)
    }
}
