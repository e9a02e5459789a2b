/// Turns a request body into the form its cache key is computed from, so that requests an
/// upstream would answer identically share one entry while any change that can alter the
/// answer gives a new key.
///
/// Rules, applied to the top-level object (a body that is not an object is left as it is):
///
/// - Every endpoint (the generic rules):
///   - `user`, `stream`, `stream_options`, `metadata` and `store` are dropped: they label,
///     log or frame the response without changing it. Streamed and non-streamed requests
///     share an entry because a stored completion can be replayed either way.
///   - A member whose value is `null` is dropped: OpenAI reads an explicit null as "unset".
/// - `chat`: members equal to the API default are dropped, so an explicit default and an
///   omitted one share a key: `temperature` 1, `top_p` 1, `n` 1, `presence_penalty` 0,
///   `frequency_penalty` 0, `logprobs` false, `parallel_tool_calls` true, `logit_bias` {},
///   `response_format` {"type":"text"}. `stop` given as one string becomes a one-element
///   array. In `messages`, a `content` array holding exactly one `{"type":"text","text":X}`
///   part becomes the string X, and `"name": null` is dropped.
/// - `completion`: the same numeric defaults, `logit_bias` {}, `echo` false, `best_of` 1 and
///   `max_tokens` 16 (the legacy endpoint's default) are dropped; `stop` as for chat.
/// - `embedding`: `encoding_format` "float" (the default) is dropped; "base64" stays, since
///   it changes the response body.
/// - `predict` and any other endpoint: the generic rules only.
///
/// Numbers compare by value (`1.0` is the default `1`), and the canonical bytes sort keys
/// and normalise numbers (`JSONWriter.canonicalBytes`), so member order never matters.
/// `service_tier` is kept: it may route to a different model deployment.
public enum RequestCanonicalizer {
    public static func canonicalBody(_ body: JSONValue, endpoint: String) -> JSONValue {
        guard case .object(var object) = body else { return body }
        let defaults: [(key: String, value: JSONValue)]
        switch endpoint {
        case "chat": defaults = chatDefaults
        case "completion": defaults = completionDefaults
        case "embedding": defaults = embeddingDefaults
        default: defaults = []
        }
        object.removeAll { key, value in
            if value.isNull || nonSemanticFields.contains(where: { sameUTF8($0, key) }) { return true }
            guard let entry = defaults.first(where: { sameUTF8($0.key, key) }) else { return false }
            return sameValue(value, entry.value)
        }
        if endpoint == "chat" || endpoint == "completion" {
            if case .string(let stop)? = object["stop"] { object["stop"] = .array([.string(stop)]) }
        }
        if endpoint == "chat", case .array(let messages)? = object["messages"] {
            object["messages"] = .array(messages.map(canonicalMessage))
        }
        return .object(object)
    }

    public static func canonicalBytes(_ body: JSONValue, endpoint: String) -> [UInt8] {
        JSONWriter.canonicalBytes(canonicalBody(body, endpoint: endpoint))
    }

    /// The key of a parsed request. Each field is length-prefixed so that no two different
    /// (scope, route, endpoint, body) tuples feed the hash the same bytes; the version tag
    /// lets a change of canonical form retire old entries instead of misreading them.
    public static func cacheKey(scope: String, route: String, endpoint: String, canonical: [UInt8]) -> CacheKey {
        var hasher = SHA256Hasher()
        hasher.updateField("tollgate-key-v1")
        hasher.updateField(scope)
        hasher.updateField(route)
        hasher.updateField(endpoint)
        canonical.withUnsafeBytes { hasher.updateField($0) }
        return hasher.finalize()
    }

    /// The key of a request taken byte for byte (a body that is not JSON, or an endpoint that
    /// is not canonicalised). Its own tag keeps it apart from every `cacheKey`.
    public static func rawKey(scope: String, path: String, body: UnsafeRawBufferPointer) -> CacheKey {
        var hasher = SHA256Hasher()
        hasher.updateField("tollgate-raw-v1")
        hasher.updateField(scope)
        hasher.updateField(path)
        hasher.updateField(body)
        return hasher.finalize()
    }

    /// Whether the same request always gets the same answer, which lets a cached completion
    /// answer prompts that extend it. For `chat` and `completion`: temperature 0 or a fixed
    /// `seed` (on a canonical body an absent temperature is the default 1). Other endpoints
    /// do not sample, so they always are.
    public static func isDeterministic(_ canonical: JSONValue, endpoint: String) -> Bool {
        guard endpoint == "chat" || endpoint == "completion" else { return true }
        if let seed = canonical["seed"], !seed.isNull { return true }
        return canonical["temperature"]?.doubleValue == 0
    }

    private static let nonSemanticFields = ["user", "stream", "stream_options", "metadata", "store"]

    private static let samplingDefaults: [(key: String, value: JSONValue)] = [
        ("temperature", 1), ("top_p", 1), ("n", 1), ("presence_penalty", 0), ("frequency_penalty", 0),
        ("logit_bias", .object(JSONObject())),
    ]

    private static let chatDefaults: [(key: String, value: JSONValue)] =
        samplingDefaults + [
            ("logprobs", false), ("parallel_tool_calls", true), ("response_format", ["type": "text"]),
        ]

    private static let completionDefaults: [(key: String, value: JSONValue)] =
        samplingDefaults + [("echo", false), ("best_of", 1), ("max_tokens", 16)]

    private static let embeddingDefaults: [(key: String, value: JSONValue)] = [("encoding_format", "float")]

    private static func canonicalMessage(_ message: JSONValue) -> JSONValue {
        guard case .object(var object) = message else { return message }
        if object["name"]?.isNull == true { object.removeValue(forKey: "name") }
        if case .array(let parts)? = object["content"], parts.count == 1,
            case .object(let part) = parts[0], part.count == 2,
            part["type"] == "text", case .string(let text)? = part["text"]
        {
            object["content"] = .string(text)
        }
        return .object(object)
    }

    /// Structural equality with numbers compared by value.
    private static func sameValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number, .number): return a.doubleValue == b.doubleValue
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy(sameValue)
        case (.object(let x), .object(let y)):
            return x.count == y.count
                && x.allSatisfy { member in y[member.key].map { sameValue(member.value, $0) } ?? false }
        default: return a == b
        }
    }
}
