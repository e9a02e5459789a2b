import Cache
import LocalModels
import Router

/// A request's prompt as the semantic cache sees it: the embedding of the part that is compared
/// by meaning, and the family that everything else of the request (compared exactly) falls in.
struct SemanticProbe: Sendable {
    let family: UInt64
    let vector: [Float]
}

/// Splits a chat or completion request into the text the semantic cache embeds and the rest.
enum SemanticPrompt {
    /// The text to embed and the body with it taken out; nil when there is no text to compare
    /// (token-id prompts, a chat without the messages asked for).
    static func split(_ body: JSONObject, kind: EndpointKind, messages mode: SemanticCachePolicy.Messages)
        -> (text: String, rest: JSONObject)?
    {
        var rest = body
        switch kind {
        case .completion:
            let prompt: String
            switch body["prompt"] {
            case .string(let text)?: prompt = text
            case .array(let items)? where items.count == 1 && items[0].stringValue != nil: prompt = items[0].stringValue!
            default: return nil
            }
            rest["prompt"] = nil
            return prompt.isEmpty ? nil : (prompt, rest)
        case .chat:
            guard var items = body["messages"]?.arrayValue else { return nil }
            var parts: [String] = []
            switch mode {
            case .lastUser:
                guard let index = items.lastIndex(where: { $0["role"]?.stringValue == "user" }),
                    let text = content(items[index])
                else { return nil }
                parts = [text]
                items[index] = blanked(items[index])
                rest["messages"] = .array(items)
            case .user:
                for (index, item) in items.enumerated() where item["role"]?.stringValue == "user" {
                    guard let text = content(item) else { return nil }
                    parts.append(text)
                    items[index] = blanked(item)
                }
                rest["messages"] = .array(items)
            case .all:
                for item in items {
                    guard let role = item["role"]?.stringValue, let text = content(item) else { return nil }
                    parts.append(role + ": " + text)
                }
                rest["messages"] = nil
            }
            let text = parts.joined(separator: "\n")
            return text.isEmpty ? nil : (text, rest)
        default:
            return nil
        }
    }

    /// A message's text: its string content, or its text parts joined; nil for anything else.
    private static func content(_ message: JSONValue) -> String? {
        switch message["content"] {
        case .string(let text)?:
            return text
        case .array(let parts)?:
            var text = ""
            for part in parts {
                guard part["type"]?.stringValue == "text", let piece = part["text"]?.stringValue else { return nil }
                text += piece
            }
            return text
        default:
            return nil
        }
    }

    private static func blanked(_ message: JSONValue) -> JSONValue {
        guard case .object(var object) = message else { return message }
        object["content"] = ""
        return .object(object)
    }
}

extension InferencePipeline {
    /// Answers from the cached entry whose prompt means nearly the same, when the route opts in:
    /// the prompt's embedding against those of cached entries of the same family, the most
    /// similar one at or above the threshold. True when it answered. The embedding is kept in
    /// `request` so that the answer about to be computed is indexed with it.
    func answerFromSemantic(
        _ request: inout InferenceRequest, sink: some ResponseSink, outcome: inout ResponseOutcome
    ) async -> Bool {
        guard let semantic, let cache, let policy = request.route.cache.semantic, request.cacheKey != nil,
            request.directives.allowsLookup, request.kind == .chat || request.kind == .completion,
            let encoder = policies.languageModels.encoders[policy.encoder],
            let (text, rest) = SemanticPrompt.split(request.body, kind: request.kind, messages: policy.messages)
        else { return false }
        var hasher = Hasher()
        hasher.combine(request.route.cache.scope == .shared ? "shared" : request.tenant)
        hasher.combine(request.route.name)
        hasher.combine(encoder.backend)
        hasher.combine(encoder.fingerprint)
        hasher.combine(policy.messages)
        hasher.combine(RequestCanonicalizer.canonicalBytes(.object(rest), endpoint: request.kind.rawValue))
        let family = UInt64(bitPattern: Int64(hasher.finalize()))

        guard case .success(let embedded) = await Self.embed([text], on: encoder, timeoutSeconds: 10),
            let vector = embedded.vectors.first
        else {
            logger.warning("semantic cache: the prompt could not be embedded", metadata: ["tollgate.route": "\(request.route.name)"])
            return false
        }
        request.semanticProbe = SemanticProbe(family: family, vector: vector)
        let now = Clock.wallNow()
        let directives = request.directives
        guard
            let match = semantic.search(
                family: family, vector: vector, threshold: Float(policy.threshold), now: now,
                accepts: { directives.accepts($0, now: now) })
        else { return false }
        let key = match.metadata.key
        var entry = cache.getFromMemory(key, now: now)
        if entry == nil, cache.mightBeOnDisk(key) {
            entry = try? await threadPool.runIfActive { try cache.getFromDisk(key, now: now) }
        }
        guard let entry else {
            // Evicted since: its vector goes too.
            semantic.remove(key: key)
            return false
        }
        metrics.cacheSemanticHits.increment()
        respondFromCache(
            entry, request: request, detail: "semantic", ttl: entry.metadata.ttl(now: now), age: entry.metadata.age(now: now),
            extraHeaders: [("x-tollgate-semantic-similarity", Self.similarityText(match.similarity))],
            sink: sink, outcome: &outcome)
        return true
    }

    /// Indexes a stored answer under the embedding its request was probed with.
    func indexSemantic(_ entry: CachedResponse, request: InferenceRequest) {
        guard let semantic, let probe = request.semanticProbe else { return }
        semantic.insert(family: probe.family, vector: probe.vector, metadata: entry.metadata, now: Clock.wallNow())
    }

    /// Four decimals, as `0.9731`.
    static func similarityText(_ value: Float) -> String {
        let scaled = Int((Double(value) * 10_000).rounded())
        let sign = scaled < 0 ? "-" : ""
        let magnitude = abs(scaled)
        let fraction = String(magnitude % 10_000)
        return sign + String(magnitude / 10_000) + "." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }
}
