/// How a route's answers are cached (`cache = { ... }` in a route).
public struct CachePolicy: Sendable, Hashable {
    /// Whose entries a request may read.
    public enum Scope: String, Sendable, Hashable, Encodable {
        /// Each tenant sees only its own entries: the safe default.
        case tenant
        /// All tenants share entries; opt in only where answers carry nothing private.
        case shared
    }

    /// Whether answers are looked up and stored at all. Default `true`.
    public var enabled: Bool
    /// Time to live of a stored answer; `nil` (the default) means the gateway's
    /// `cache.default_ttl_seconds`.
    public var ttlSeconds: Double?
    /// Default ``Scope/tenant``.
    public var scope: Scope
    /// Labels stored with every entry, so entries can be purged by tag. Default none.
    public var tags: [String]
    /// Whether a deterministic local completion may be answered from a cached one that holds
    /// it (the same prompt with fewer tokens, or a prompt that continues a cached completion).
    /// Default `true`.
    public var prefix: Bool
    /// The semantic cache, when the route opts in: a prompt close enough in meaning to a cached
    /// one's takes its answer. Off (nil) by default.
    public var semantic: SemanticCachePolicy?

    public init(
        enabled: Bool = true, ttlSeconds: Double? = nil, scope: Scope = .tenant, tags: [String] = [], prefix: Bool = true
    ) {
        self.enabled = enabled
        self.ttlSeconds = ttlSeconds
        self.scope = scope
        self.tags = tags
        self.prefix = prefix
    }
}

extension CachePolicy: Encodable {
    enum CodingKeys: String, CodingKey {
        case enabled
        case ttlSeconds = "ttl_seconds"
        case scope
        case tags
        case prefix
        case semantic
    }
}

/// `cache.semantic = { encoder, threshold, messages }` on a route.
public struct SemanticCachePolicy: Sendable, Hashable, Encodable {
    /// Which parts of a chat are embedded; the rest (and every other field of the request) must
    /// match exactly for an entry to be considered.
    public enum Messages: String, Sendable, Hashable, Encodable, CaseIterable {
        /// The last user message (the question); earlier turns and the system prompt must be equal.
        case lastUser = "last_user"
        /// Every user message; system and assistant messages must be equal.
        case user
        /// The whole conversation.
        case all
    }

    /// The gguf encoder backend (a bert file) that embeds prompts.
    public var encoder: String
    /// Cosine similarity from which a cached answer is taken, in (0, 1]. Default 0.95.
    public var threshold: Double
    public var messages: Messages

    public init(encoder: String, threshold: Double = 0.95, messages: Messages = .lastUser) {
        self.encoder = encoder
        self.threshold = threshold
        self.messages = messages
    }
}
