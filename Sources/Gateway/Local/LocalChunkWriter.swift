import Cache
import LocalModels
import Router

/// Writes the OpenAI streaming chunks of one local completion (`chat.completion.chunk` or
/// `text_completion`), so that the local engine's answers go through the same relay, assembly
/// and cache as an upstream's.
struct LocalChunkWriter: Sendable {
    let kind: EndpointKind
    let id: String
    let created: Int
    let model: String
    /// Alternatives per token when logprobs were asked for.
    let logprobs: Int?
    /// Characters emitted so far (completions' `text_offset`).
    private var textOffset = 0

    init(kind: EndpointKind, model: String, logprobs: Int?, created: Int, id: String) {
        self.kind = kind
        self.model = model
        self.logprobs = logprobs
        self.created = created
        self.id = id
    }

    private func envelope(_ choices: [JSONValue], usage: JSONValue? = nil) -> [UInt8] {
        var object: JSONObject = [
            "id": .string(id),
            "object": .string(kind == .chat ? "chat.completion.chunk" : "text_completion"),
            "created": .number(String(created)),
            "model": .string(model),
            "system_fingerprint": .string("tollgate-local"),
            "choices": .array(choices),
        ]
        if let usage { object["usage"] = usage }
        return JSONWriter.bytes(.object(object))
    }

    /// The chat stream's opening chunk: the assistant role, no content yet.
    func roleChunk() -> [UInt8] {
        envelope([
            [
                "index": 0, "delta": ["role": "assistant", "content": ""], "logprobs": .null, "finish_reason": .null,
            ]
        ])
    }

    mutating func textChunk(_ text: String, tokens: [GeneratedToken]) -> [UInt8] {
        let logprobValue = logprobs == nil ? JSONValue.null : logprobsObject(tokens)
        textOffset += text.count
        if kind == .chat {
            return envelope([
                ["index": 0, "delta": ["content": .string(text)], "logprobs": logprobValue, "finish_reason": .null]
            ])
        }
        return envelope([["index": 0, "text": .string(text), "logprobs": logprobValue, "finish_reason": .null]])
    }

    func finishChunk(_ reason: FinishReason) -> [UInt8] {
        if kind == .chat {
            return envelope([["index": 0, "delta": [:], "logprobs": .null, "finish_reason": .string(reason.rawValue)]])
        }
        return envelope([["index": 0, "text": "", "logprobs": .null, "finish_reason": .string(reason.rawValue)]])
    }

    func usageChunk(_ summary: GenerationSummary) -> [UInt8] {
        let usage: JSONValue = [
            "prompt_tokens": .number(String(summary.promptTokens)),
            "completion_tokens": .number(String(summary.completionTokens)),
            "total_tokens": .number(String(summary.promptTokens + summary.completionTokens)),
            "prompt_tokens_details": ["cached_tokens": .number(String(summary.cachedPromptTokens))],
        ]
        return envelope([], usage: usage)
    }

    private func logprobsObject(_ tokens: [GeneratedToken]) -> JSONValue {
        if kind == .chat {
            let content: [JSONValue] = tokens.map { token in
                let top = token.top.map { alternative in
                    Self.entry(text: alternative.text, bytes: alternative.bytes, logprob: alternative.logProbability)
                }
                var entry = Self.entry(text: token.text, bytes: token.bytes, logprob: token.logProbability)
                if case .object(var object) = entry {
                    object["top_logprobs"] = .array(top)
                    entry = .object(object)
                }
                return entry
            }
            return ["content": .array(content)]
        }
        var offsets: [JSONValue] = []
        var offset = textOffset
        for token in tokens {
            offsets.append(.number(String(offset)))
            offset += token.text.count
        }
        return [
            "tokens": .array(tokens.map { .string($0.text) }),
            "token_logprobs": .array(tokens.map { Self.number($0.logProbability) }),
            "top_logprobs": .array(
                tokens.map { token in
                    var object = JSONObject()
                    for alternative in token.top where object[alternative.text] == nil {
                        object[alternative.text] = Self.number(alternative.logProbability)
                    }
                    return .object(object)
                }),
            "text_offset": .array(offsets),
        ]
    }

    private static func entry(text: String, bytes: [UInt8], logprob: Float) -> JSONValue {
        ["token": .string(text), "logprob": number(logprob), "bytes": .array(bytes.map { .number(String($0)) })]
    }

    private static func number(_ value: Float) -> JSONValue {
        // A token the model cannot produce has -inf; JSON has no infinity, OpenAI uses -9999.
        guard value.isFinite else { return .number("-9999.0") }
        return .number(String(Double(value)))
    }
}
