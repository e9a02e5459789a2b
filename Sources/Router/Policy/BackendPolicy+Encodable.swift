extension BackendPolicy: Encodable {
    enum CodingKeys: String, CodingKey {
        case name, type, replicas, model, affinity, file, line, forest, gguf
        case apiKeyEnv = "api_key_env"
        case apiKeyPresent = "api_key_present"
        case affinityPrefixChars = "affinity_prefix_chars"
        case timeoutSeconds = "timeout_seconds"
        case connectTimeoutSeconds = "connect_timeout_seconds"
        case circuitBreaker = "circuit_breaker"
        case unconfiguredReason = "unconfigured_reason"
    }

    /// The admin view. The key itself is never written, only whether one is present,
    /// since `GET /admin/policies` output ends up in tickets and chat logs.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(type, forKey: .type)
        if let forest {
            try container.encode(forest, forKey: .forest)
            try container.encode(file, forKey: .file)
            try container.encodeIfPresent(line, forKey: .line)
            return
        }
        if let languageModel {
            try container.encode(languageModel, forKey: .gguf)
            try container.encodeIfPresent(unconfiguredReason, forKey: .unconfiguredReason)
            try container.encode(file, forKey: .file)
            try container.encodeIfPresent(line, forKey: .line)
            return
        }
        try container.encode(replicas, forKey: .replicas)
        try container.encodeIfPresent(apiKeyEnv, forKey: .apiKeyEnv)
        try container.encode(apiKey != nil, forKey: .apiKeyPresent)
        try container.encodeIfPresent(upstreamModel, forKey: .model)
        switch affinity {
        case .none:
            try container.encode("none", forKey: .affinity)
        case .prefix(let chars):
            try container.encode("prefix", forKey: .affinity)
            try container.encode(chars, forKey: .affinityPrefixChars)
        }
        try container.encode(timeoutSeconds, forKey: .timeoutSeconds)
        try container.encode(connectTimeoutSeconds, forKey: .connectTimeoutSeconds)
        try container.encode(circuitBreaker, forKey: .circuitBreaker)
        try container.encodeIfPresent(unconfiguredReason, forKey: .unconfiguredReason)
        try container.encode(file, forKey: .file)
        try container.encodeIfPresent(line, forKey: .line)
    }
}
