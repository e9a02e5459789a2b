extension PolicyFileReader {
    /// `[429, 503, "timeout", "connect_error"]`.
    func readFailureSet(_ table: TableReader, _ key: String) -> FailureSet? {
        guard let node = table.node(key) else { return nil }
        let expected = "an array of HTTP statuses (400-599), \"timeout\" and \"connect_error\""
        guard case .array(let elements) = node else {
            table.wrongType(key, expected: expected, got: node)
            return nil
        }
        var failures = FailureSet()
        let arrayPath = table.path.appending(key)
        for (index, element) in elements.enumerated() {
            let reject = { (reason: String) in
                diagnostics.report(.invalidValue, at: arrayPath, line: arrayPath.appending(index: index), reason)
            }
            switch element {
            case .integer(let status) where (400...599).contains(status):
                failures.statuses.insert(status)
            case .integer(let status):
                reject("\(status) is not an error status; expected \(expected)")
            case .string("timeout"):
                failures.timeout = true
            case .string("connect_error"):
                failures.connectError = true
            case .string(let word):
                reject("unknown failure '\(word)'; expected \(expected)")
            default:
                reject("expected \(expected), but element \(index) is \(element.typeDescription)")
            }
        }
        return failures
    }

    /// `retry = { attempts, backoff_ms, max_backoff_ms, on }`; milliseconds in the file,
    /// seconds in ``RetryPolicy``.
    func readRetry(_ table: TableReader) -> RetryPolicy {
        table.checkKeys(["attempts", "backoff_ms", "max_backoff_ms", "on"])
        var retry = RetryPolicy()
        if let attempts = table.integer("attempts", in: 0...10) { retry.attempts = attempts }
        if let base = table.number("backoff_ms", allowZero: true) { retry.baseBackoff = base / 1000 }
        if let cap = table.number("max_backoff_ms", allowZero: true) { retry.maxBackoff = cap / 1000 }
        if table.has("backoff_ms") || table.has("max_backoff_ms"), retry.maxBackoff < retry.baseBackoff {
            table.invalid(
                table.has("max_backoff_ms") ? "max_backoff_ms" : "backoff_ms",
                "max_backoff_ms (\(retry.maxBackoff * 1000)) is below backoff_ms (\(retry.baseBackoff * 1000))"
            )
        }
        if let on = readFailureSet(table, "on") { retry.retryOn = on }
        return retry
    }

    /// `cache = { enabled, ttl_seconds, scope, tags, prefix, semantic }`.
    func readCache(_ table: TableReader) -> CachePolicy {
        table.checkKeys(["enabled", "ttl_seconds", "scope", "tags", "prefix", "semantic"])
        var cache = CachePolicy()
        if let enabled = table.bool("enabled") { cache.enabled = enabled }
        if let prefix = table.bool("prefix") { cache.prefix = prefix }
        if let semantic = table.table("semantic") { cache.semantic = readSemantic(semantic) }
        if let node = table.node("ttl_seconds"), node.number == 0 {
            table.invalid("ttl_seconds", "must be greater than 0; use enabled = false to turn caching off")
        } else if let ttl = table.number("ttl_seconds") {
            cache.ttlSeconds = ttl
        }
        if let scope = table.string("scope") {
            if let known = CachePolicy.Scope(rawValue: scope) {
                cache.scope = known
            } else {
                table.invalid("scope", "unknown scope '\(scope)'; expected one of tenant, shared")
            }
        }
        if let tags = table.strings("tags") {
            if tags.contains("") { table.invalid("tags", "tags must not be empty") }
            cache.tags = tags.filter { !$0.isEmpty }
        }
        return cache
    }

    /// `semantic = { encoder = "minilm", threshold = 0.95, messages = "last_user" }`.
    func readSemantic(_ table: TableReader) -> SemanticCachePolicy? {
        table.checkKeys(["encoder", "threshold", "messages"])
        guard let encoder = table.string("encoder") else {
            table.invalid("encoder", "names the gguf encoder backend (a bert file) that embeds prompts; it is required")
            return nil
        }
        var policy = SemanticCachePolicy(encoder: encoder)
        if let threshold = table.number("threshold") {
            if threshold <= 1 {
                policy.threshold = threshold
            } else {
                table.invalid("threshold", "is a cosine similarity: greater than 0 and at most 1")
            }
        }
        if let messages = table.string("messages") {
            if let known = SemanticCachePolicy.Messages(rawValue: messages) {
                policy.messages = known
            } else {
                let names = SemanticCachePolicy.Messages.allCases.map(\.rawValue).joined(separator: ", ")
                table.invalid("messages", "unknown value '\(messages)'; expected one of \(names)")
            }
        }
        return policy
    }
}
