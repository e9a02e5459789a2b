/// Where an entry came from and how it may be selected for purge or listing.
public struct EntryMetadata: Sendable, Equatable {
    public var key: CacheKey
    /// Tenant scope the entry was stored under ("shared" for shared-scope routes).
    public var tenant: String
    public var route: String
    /// The endpoint kind: "chat", "completion", "embedding", "predict".
    public var endpoint: String
    public var model: String
    /// Wall-clock seconds since the Unix epoch.
    public var createdAt: Double
    public var expiresAt: Double
    public var tags: [String]

    public init(
        key: CacheKey,
        tenant: String,
        route: String,
        endpoint: String,
        model: String,
        createdAt: Double,
        expiresAt: Double,
        tags: [String] = []
    ) {
        self.key = key
        self.tenant = tenant
        self.route = route
        self.endpoint = endpoint
        self.model = model
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.tags = tags
    }

    public func age(now: Double) -> Double { max(0, now - createdAt) }
    public func ttl(now: Double) -> Double { max(0, expiresAt - now) }
    public func isExpired(now: Double) -> Bool { now >= expiresAt }
}

/// A complete, successful response, immutable once stored and shared by every hit.
///
/// `body` is the JSON form. `events` is the SSE form: the `data:` payloads in order, without
/// the `data: ` prefix, the blank line, or the final `[DONE]`. A completion that was
/// streamed keeps the exact events it streamed; one that was not has them synthesised, so
/// either client mode can be answered from one entry. `usageEventIndex` marks the event
/// that only carries `usage` (sent only to clients that asked with `include_usage`).
public final class CachedResponse: Sendable {
    public let metadata: EntryMetadata
    public let status: Int
    public let contentType: String
    public let body: [UInt8]
    public let events: [[UInt8]]?
    public let usageEventIndex: Int?
    /// The key in hex, made once: every hit sends it in two headers.
    public let keyHex: String
    /// Token counts of the answer, when it reported them.
    public let usage: TokenUsage?
    /// What the backend call that produced it cost, in USD; nil when not known (an entry read
    /// back from disk). A hit reports it as saved.
    public let costUSD: Double?

    public init(
        metadata: EntryMetadata,
        status: Int = 200,
        contentType: String = "application/json",
        body: [UInt8],
        events: [[UInt8]]? = nil,
        usageEventIndex: Int? = nil,
        usage: TokenUsage? = nil,
        costUSD: Double? = nil
    ) {
        self.metadata = metadata
        self.status = status
        self.contentType = contentType
        self.body = body
        self.events = events
        self.usageEventIndex = usageEventIndex
        self.keyHex = metadata.key.hex
        self.usage = usage
        self.costUSD = costUSD
    }

    public var key: CacheKey { metadata.key }

    /// Bytes charged against a tier's budget: payloads plus a fixed overhead per entry.
    public var byteCount: Int {
        var total = 256 + body.count + contentType.utf8.count
        total += metadata.tenant.utf8.count + metadata.route.utf8.count + metadata.model.utf8.count
        if let events {
            total += events.count * 32
            for event in events { total += event.count }
        }
        return total
    }
}
