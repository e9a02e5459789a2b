import Cache
import NIOCore
import NIOHTTP1
import Router

extension InferencePipeline {
    /// Parses and routes a request on the event loop. Errors are the client's: bad JSON,
    /// missing fields, unknown models.
    func prepare(
        kind: EndpointKind,
        path: String,
        head: HTTPRequestHead,
        body: ByteBuffer,
        caller: Caller,
        directives: CacheDirectives,
        rawKey knownRawKey: CacheKey?,
        requestID: String
    ) throws(GatewayError) -> InferenceRequest {
        let tenant = caller.tenant
        let object = try RequestBody.object(body)
        guard let modelValue = object["model"] else {
            throw GatewayError.badRequest("Missing required parameter: 'model'.", code: "missing_required_parameter", param: "model")
        }
        guard case .string(let model) = modelValue, !model.isEmpty else {
            throw GatewayError.badRequest("'model' must be a non-empty string.", code: "invalid_type", param: "model")
        }
        try validate(kind: kind, object: object)

        var wantsStream = false
        if let stream = object["stream"] {
            guard case .bool(let flag) = stream else {
                throw GatewayError.badRequest("'stream' must be a boolean.", code: "invalid_type", param: "stream")
            }
            wantsStream = flag
        }
        if wantsStream, !kind.canStream {
            throw GatewayError.badRequest("This endpoint does not support 'stream'.", code: "invalid_value", param: "stream")
        }
        let includeUsage = wantsStream && object["stream_options"]?["include_usage"]?.boolValue == true

        guard let match = policies.table.resolve(kind: kind, model: model) else {
            throw GatewayError.modelNotFound(model)
        }
        if let refusal = limits.checkModel(caller, requested: model, resolved: match.model) { throw refusal }

        let route = match.route
        var cacheKey: CacheKey?
        var rawKey: CacheKey?
        if cacheEnabled, route.cache.enabled, !directives.noStore {
            let scope = route.cache.scope == .shared ? "shared" : tenant
            let canonical = RequestCanonicalizer.canonicalBytes(.object(object), endpoint: kind.rawValue)
            cacheKey = RequestCanonicalizer.cacheKey(
                scope: scope,
                route: route.name,
                endpoint: kind.rawValue,
                canonical: canonical
            )
            rawKey = knownRawKey
                ?? body.withUnsafeReadableBytes { RequestCanonicalizer.rawKey(scope: tenant, path: path, body: $0) }
        }

        return InferenceRequest(
            requestID: requestID,
            kind: kind,
            upstreamPath: kind.upstreamPath,
            body: object,
            rawBody: body,
            match: match,
            tenant: tenant,
            caller: caller,
            wantsStream: wantsStream,
            includeUsage: includeUsage,
            directives: directives,
            cacheKey: cacheKey,
            rawKey: rawKey,
            affinityHash: affinityHash(kind: kind, object: object, route: route),
            ttlSeconds: route.cache.ttlSeconds ?? defaultTTLSeconds
        )
    }

    /// Shape checks that a user would rather hear from the gateway than from a backend.
    private func validate(kind: EndpointKind, object: JSONObject) throws(GatewayError) {
        switch kind {
        case .chat:
            guard case .array(let messages)? = object["messages"] else {
                throw GatewayError.badRequest(
                    "Missing required parameter: 'messages' (an array of message objects).",
                    code: "missing_required_parameter",
                    param: "messages"
                )
            }
            for (index, message) in messages.enumerated() {
                guard case .object(let fields) = message, fields["role"]?.stringValue != nil else {
                    throw GatewayError.badRequest(
                        "messages[\(index)] must be an object with a string 'role'.",
                        code: "invalid_type",
                        param: "messages[\(index)]"
                    )
                }
            }
        case .completion:
            guard object["prompt"] != nil else {
                throw GatewayError.badRequest(
                    "Missing required parameter: 'prompt'.",
                    code: "missing_required_parameter",
                    param: "prompt"
                )
            }
        case .embedding:
            guard object["input"] != nil else {
                throw GatewayError.badRequest(
                    "Missing required parameter: 'input'.",
                    code: "missing_required_parameter",
                    param: "input"
                )
            }
        case .predict:
            break
        }
    }

    /// A stable hash of the prompt's first characters, so that requests sharing a prefix
    /// land on the same replica and find its KV cache warm.
    private func affinityHash(kind: EndpointKind, object: JSONObject, route: RoutePolicy) -> UInt64? {
        let table = policies.table
        guard
            let chars = route.backends.lazy.compactMap({ table.backends[$0.backend]?.affinityPrefixChars }).first
        else { return nil }
        var prefix = ""
        switch kind {
        case .chat:
            for message in object["messages"]?.arrayValue ?? [] {
                prefix += message["role"]?.stringValue ?? ""
                prefix += ":"
                if let text = message["content"]?.stringValue {
                    prefix += text
                } else if let parts = message["content"]?.arrayValue {
                    for part in parts { prefix += part["text"]?.stringValue ?? "" }
                }
                prefix += "\n"
                if prefix.count >= chars { break }
            }
        case .completion:
            prefix = object["prompt"]?.stringValue ?? object["prompt"]?.arrayValue?.first?.stringValue ?? ""
        case .embedding, .predict:
            return nil
        }
        return AffinityKey.hash(String(prefix.prefix(chars)))
    }
}
