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
    }
}
