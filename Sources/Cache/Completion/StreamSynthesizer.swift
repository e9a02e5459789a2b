/// Turns a stored non-streamed completion into the SSE payloads a streaming client expects,
/// so an entry filled by a plain request can answer `stream: true`. The reverse of
/// `CompletionAssembler`: assembling the events gives back the same completion.
///
/// Chat, per choice in index order: a chunk opening the message (`role`, and `content` ""
/// or null as the message had it), one chunk with the whole content, refusal, tool calls
/// (each with its `index`) and logprobs, then an empty delta with the `finish_reason`.
/// Legacy completions: one chunk with the text and logprobs, then one with the
/// `finish_reason`. Last, when the body has `usage`, a chunk with `choices: []` and the
/// usage; its position is returned so that it is only sent to clients that asked for it
/// with `stream_options.include_usage`.
///
/// Every chunk repeats the body's top-level members (`id`, `created`, `model`,
/// `system_fingerprint`, `service_tier`, ...) with `object` set to the chunk type; members
/// that are null are left out, and so is `usage` outside the usage chunk, as OpenAI does
/// for clients without `include_usage`.
public enum StreamSynthesizer {
    public static func events(
        fromCompletion body: [UInt8],
        endpoint: String
    ) throws(CompletionFormatError) -> (events: [[UInt8]], usageEventIndex: Int?) {
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(body)
        } catch {
            throw CompletionFormatError(.invalidJSON, "completion is not JSON: \(error)")
        }
        guard case .object(let completion) = parsed, case .array(let choices)? = completion["choices"] else {
            throw CompletionFormatError(.unexpectedShape, "completion has no choices array")
        }
        let isChat = endpoint != "completion"
        let header = chunkHeader(completion, object: isChat ? "chat.completion.chunk" : "text_completion")

        var chunkChoices: [JSONValue] = []
        let ordered = choices.enumerated().sorted {
            ($0.element["index"]?.intValue ?? $0.offset) < ($1.element["index"]?.intValue ?? $1.offset)
        }
        for (position, choice) in ordered {
            guard case .object(let choice) = choice else {
                throw CompletionFormatError(.unexpectedShape, "choice is not a JSON object")
            }
            let index = choice["index"] ?? .number(String(position))
            chunkChoices += isChat ? chatChoices(choice, index: index) : textChoices(choice, index: index)
        }

        var events = chunkChoices.map { choice in
            var chunk = header
            chunk["choices"] = [choice]
            return JSONWriter.bytes(.object(chunk))
        }
        var usageEventIndex: Int?
        if let usage = completion["usage"], !usage.isNull {
            var chunk = header
            chunk["choices"] = []
            chunk["usage"] = usage
            usageEventIndex = events.count
            events.append(JSONWriter.bytes(.object(chunk)))
        }
        return (events, usageEventIndex)
    }

    private static func chunkHeader(_ completion: JSONObject, object: String) -> JSONObject {
        var header = JSONObject()
        if let id = completion["id"] { header["id"] = id }
        header["object"] = .string(object)
        for (key, value) in completion where !value.isNull && !["id", "object", "choices", "usage"].contains(key) {
            header[key] = value
        }
        return header
    }

    private static func chatChoices(_ choice: JSONObject, index: JSONValue) -> [JSONValue] {
        let message = choice["message"]?.objectValue ?? JSONObject()
        let hasContent = message["content"]?.stringValue != nil
        let opening: JSONObject = ["role": message["role"] ?? "assistant", "content": hasContent ? "" : .null]

        var delta = JSONObject()
        for (key, value) in message where !value.isNull && key != "role" {
            switch (key, value) {
            case ("content", .string(let text)) where text.isEmpty: break
            case ("tool_calls", .array(let calls)):
                delta[key] = .array(calls.enumerated().map { position, call in indexed(call, position) })
            default: delta[key] = value
            }
        }
        let logprobs = choice["logprobs"] ?? .null

        var result = [chatChoice(index: index, delta: opening, logprobs: .null, finishReason: .null)]
        if !delta.isEmpty || !logprobs.isNull {
            result.append(chatChoice(index: index, delta: delta, logprobs: logprobs, finishReason: .null))
        }
        var closing = chatChoice(
            index: index,
            delta: JSONObject(),
            logprobs: .null,
            finishReason: choice["finish_reason"] ?? .null
        )
        appendExtras(of: choice, to: &closing, handled: ["index", "message", "logprobs", "finish_reason"])
        result.append(closing)
        return result
    }

    private static func textChoices(_ choice: JSONObject, index: JSONValue) -> [JSONValue] {
        let text = choice["text"]?.stringValue ?? ""
        let logprobs = choice["logprobs"] ?? .null
        var result: [JSONValue] = []
        if !text.isEmpty || !logprobs.isNull {
            result.append(["index": index, "text": .string(text), "logprobs": logprobs, "finish_reason": .null])
        }
        var closing: JSONValue = [
            "index": index, "text": "", "logprobs": .null, "finish_reason": choice["finish_reason"] ?? .null,
        ]
        appendExtras(of: choice, to: &closing, handled: ["index", "text", "logprobs", "finish_reason"])
        result.append(closing)
        return result
    }

    private static func chatChoice(
        index: JSONValue,
        delta: JSONObject,
        logprobs: JSONValue,
        finishReason: JSONValue
    ) -> JSONValue {
        ["index": index, "delta": .object(delta), "logprobs": logprobs, "finish_reason": finishReason]
    }

    /// Choice members this type does not know (vLLM's `stop_reason`) travel with the last chunk.
    private static func appendExtras(of choice: JSONObject, to chunkChoice: inout JSONValue, handled: Set<String>) {
        guard case .object(var object) = chunkChoice else { return }
        for (key, value) in choice where !value.isNull && !handled.contains(key) { object[key] = value }
        chunkChoice = .object(object)
    }

    /// A stored tool call with the `index` a delta carries put first.
    private static func indexed(_ call: JSONValue, _ position: Int) -> JSONValue {
        guard case .object(let call) = call else { return call }
        var delta: JSONObject = ["index": .number(String(position))]
        for (key, value) in call where key != "index" { delta[key] = value }
        return .object(delta)
    }
}
