import Cache

/// Builds the RFC 9211 `Cache-Status` field value for Tollgate's cache.
enum CacheStatus {
    static func hit(ttl: Double, keyHex: String, detail: String? = nil) -> String {
        var value = "tollgate; hit; ttl=\(Int(ttl.rounded(.down))); key=\"\(keyHex)\""
        if let detail { value += "; detail=\(detail)" }
        return value
    }

    /// A batch of tabular rows all answered from the cache: each row has its own key, so
    /// none is named; `ttl` is the shortest left among them.
    static func rowsHit(ttl: Double, detail: String) -> String {
        "tollgate; hit; ttl=\(Int(ttl.rounded(.down))); detail=\(detail)"
    }

    /// `fwd` is one of RFC 9211's reasons: `miss`, `request` (client asked to refresh or
    /// not store), `bypass` (the route does not cache).
    static func forward(_ fwd: String, stored: Bool, collapsed: Bool, key: CacheKey?, detail: String? = nil) -> String {
        var value = "tollgate; fwd=\(fwd)"
        if stored { value += "; stored" }
        if collapsed { value += "; collapsed" }
        if let key { value += "; key=\"\(key.hex)\"" }
        if let detail { value += "; detail=\(detail)" }
        return value
    }
}
