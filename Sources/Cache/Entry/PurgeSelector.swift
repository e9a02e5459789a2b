/// Chooses entries to purge or list. Every field that is set must match; an empty
/// selector matches everything.
public struct PurgeSelector: Sendable, Equatable {
    /// Exact model name, or a glob with `*` and `?`.
    public var model: String?
    public var route: String?
    public var tenant: String?
    public var endpoint: String?
    public var key: CacheKey?
    /// Lower-case hex prefix of the key.
    public var keyPrefix: String?
    public var tag: String?
    /// Entries at least this many seconds old.
    public var olderThan: Double?

    public init(
        model: String? = nil,
        route: String? = nil,
        tenant: String? = nil,
        endpoint: String? = nil,
        key: CacheKey? = nil,
        keyPrefix: String? = nil,
        tag: String? = nil,
        olderThan: Double? = nil
    ) {
        self.model = model
        self.route = route
        self.tenant = tenant
        self.endpoint = endpoint
        self.key = key
        self.keyPrefix = keyPrefix?.lowercased()
        self.tag = tag
        self.olderThan = olderThan
    }

    public var isEmpty: Bool { self == PurgeSelector() }

    public func matches(_ metadata: EntryMetadata, now: Double) -> Bool {
        if let key, metadata.key != key { return false }
        if let keyPrefix, !metadata.key.hex.hasPrefix(keyPrefix) { return false }
        if let tenant, metadata.tenant != tenant { return false }
        if let route, metadata.route != route { return false }
        if let endpoint, metadata.endpoint != endpoint { return false }
        if let model, !Glob.matches(pattern: model, model: metadata.model) { return false }
        if let tag, !metadata.tags.contains(tag) { return false }
        if let olderThan, metadata.age(now: now) < olderThan { return false }
        return true
    }
}

/// Shell-style globs over model names: `*` any run, `?` one character.
public enum Glob {
    public static func matches(pattern: String, model: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        let s = Array(model.unicodeScalars)
        var pi = 0
        var si = 0
        var starP = -1
        var starS = 0
        while si < s.count {
            if pi < p.count, p[pi] == "?" || p[pi] == s[si] {
                pi += 1
                si += 1
            } else if pi < p.count, p[pi] == "*" {
                starP = pi
                starS = si
                pi += 1
            } else if starP >= 0 {
                pi = starP + 1
                starS += 1
                si = starS
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
