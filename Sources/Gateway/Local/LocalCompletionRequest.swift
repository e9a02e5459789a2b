import Cache
import LocalModels
import Router

/// An OpenAI chat or completion request read for the local engine: the prompt and every
/// sampling field, validated. Anything the engine cannot honour is a 400 naming the field,
/// rather than silently ignored.
struct LocalCompletionRequest: Sendable {
    enum Prompt: Sendable {
        case chat([ChatMessage])
        case text(String)
        case tokens([Int32])
    }

    var prompt: Prompt
    var maxTokens: Int?
    var sampling: SamplingParameters
    var stop: [String]
    /// Alternatives per token for `top_logprobs` (chat) or `logprobs` (completions); nil: none asked.
    var logprobs: Int?
    var ignoreEndOfGeneration: Bool

    static let maxStops = 16
    static let maxTopLogprobs = 20

    init(body: JSONObject, kind: EndpointKind) throws(GatewayError) {
        switch kind {
        case .chat: prompt = .chat(try Self.messages(body["messages"]))
        default: prompt = try Self.completionPrompt(body["prompt"])
        }
        if let n = try Self.integer(body, "n"), n != 1 {
            throw .badRequest("The local engine generates one choice per request; n must be 1.", param: "n")
        }
        if kind == .completion, body["echo"]?.boolValue == true {
            throw .badRequest("echo is not supported by the local engine.", param: "echo")
        }
        var maxTokens = try Self.integer(body, "max_completion_tokens")
        if maxTokens == nil { maxTokens = try Self.integer(body, "max_tokens") }
        if let maxTokens, maxTokens < 1 {
            throw .badRequest("max_tokens must be at least 1.", param: "max_tokens")
        }
        self.maxTokens = maxTokens

        var sampling = SamplingParameters()
        if let t = try Self.number(body, "temperature", in: 0...2) { sampling.temperature = Float(t) }
        if let p = try Self.number(body, "top_p", in: 0...1) { sampling.topP = Float(p) }
        if let k = try Self.integer(body, "top_k") {
            guard k >= 0 else { throw .badRequest("top_k must be 0 (off) or more.", param: "top_k") }
            sampling.topK = k
        }
        if let p = try Self.number(body, "min_p", in: 0...1) { sampling.minP = Float(p) }
        if let p = try Self.number(body, "frequency_penalty", in: -2...2) { sampling.frequencyPenalty = Float(p) }
        if let p = try Self.number(body, "presence_penalty", in: -2...2) { sampling.presencePenalty = Float(p) }
        var repetition = try Self.number(body, "repetition_penalty", in: 0.01...10)
        if repetition == nil { repetition = try Self.number(body, "repeat_penalty", in: 0.01...10) }
        if let repetition { sampling.repetitionPenalty = Float(repetition) }
        if let seed = body["seed"], !seed.isNull {
            guard case .number(let lexeme) = seed, let value = Int64(lexeme) else {
                throw .badRequest("seed must be an integer.", param: "seed")
            }
            sampling.seed = UInt64(bitPattern: value)
        }
        self.sampling = sampling
        stop = try Self.stops(body["stop"])
        ignoreEndOfGeneration = body["ignore_eos"]?.boolValue ?? false

        switch kind {
        case .chat:
            let wants = body["logprobs"]?.boolValue ?? false
            let top = try Self.integer(body, "top_logprobs")
            if let top, !(0...Self.maxTopLogprobs).contains(top) {
                throw .badRequest("top_logprobs must be between 0 and \(Self.maxTopLogprobs).", param: "top_logprobs")
            }
            if top != nil, !wants {
                throw .badRequest("top_logprobs needs logprobs: true.", param: "top_logprobs")
            }
            logprobs = wants ? (top ?? 0) : nil
        default:
            let value = try Self.integer(body, "logprobs")
            if let value, !(0...Self.maxTopLogprobs).contains(value) {
                throw .badRequest("logprobs must be between 0 and \(Self.maxTopLogprobs).", param: "logprobs")
            }
            logprobs = value
        }
    }

    // MARK: Field readers

    private static func messages(_ value: JSONValue?) throws(GatewayError) -> [ChatMessage] {
        guard let items = value?.arrayValue, !items.isEmpty else {
            throw .badRequest("messages must be a non-empty array.", param: "messages")
        }
        var messages: [ChatMessage] = []
        for (index, item) in items.enumerated() {
            guard let role = item["role"]?.stringValue else {
                throw .badRequest("messages[\(index)].role must be a string.", param: "messages")
            }
            let content: String
            switch item["content"] {
            case .string(let text)?:
                content = text
            case .array(let parts)?:
                var text = ""
                for part in parts {
                    guard part["type"]?.stringValue == "text", let piece = part["text"]?.stringValue else {
                        throw .badRequest(
                            "messages[\(index)].content: the local engine takes text parts only.", param: "messages")
                    }
                    text += piece
                }
                content = text
            case .null?, nil:
                content = ""
            default:
                throw .badRequest("messages[\(index)].content must be a string or an array of text parts.", param: "messages")
            }
            messages.append(ChatMessage(role: role, content: content))
        }
        return messages
    }

    private static func completionPrompt(_ value: JSONValue?) throws(GatewayError) -> Prompt {
        switch value {
        case .string(let text)?:
            return .text(text)
        case .array(let items)? where items.count == 1 && items[0].stringValue != nil:
            return .text(items[0].stringValue!)
        case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.intValue != nil }):
            return .tokens(items.map { Int32(clamping: $0.intValue!) })
        case .array?:
            throw .badRequest(
                "prompt must be a string, a one-string array or an array of token ids for the local engine.",
                param: "prompt")
        default:
            throw .badRequest("prompt is required.", param: "prompt")
        }
    }

    private static func stops(_ value: JSONValue?) throws(GatewayError) -> [String] {
        switch value {
        case nil, .null?: return []
        case .string(let s)?: return s.isEmpty ? [] : [s]
        case .array(let items)?:
            var stops: [String] = []
            for item in items {
                guard let s = item.stringValue else { throw .badRequest("stop must be a string or an array of strings.", param: "stop") }
                if !s.isEmpty { stops.append(s) }
            }
            guard stops.count <= maxStops else {
                throw .badRequest("stop takes at most \(maxStops) strings.", param: "stop")
            }
            return stops
        default:
            throw .badRequest("stop must be a string or an array of strings.", param: "stop")
        }
    }

    private static func integer(_ body: JSONObject, _ key: String) throws(GatewayError) -> Int? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let int = value.intValue else { throw .badRequest("\(key) must be an integer.", param: key) }
        return int
    }

    private static func number(_ body: JSONObject, _ key: String, in range: ClosedRange<Double>) throws(GatewayError) -> Double? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let number = value.doubleValue, number.isFinite else {
            throw .badRequest("\(key) must be a number.", param: key)
        }
        guard range.contains(number) else {
            throw .badRequest("\(key) must be between \(range.lowerBound.formatted) and \(range.upperBound.formatted).", param: key)
        }
        return number
    }
}

private extension Double {
    var formatted: String { self == rounded() ? String(Int(self)) : String(self) }
}
