/// Folds a streamed completion, one SSE `data:` payload at a time, into the body the same
/// request would have got without `stream`, so that one cache entry answers both modes.
///
/// `chat` folds `chat.completion.chunk`s into a `chat.completion`; `completion` folds legacy
/// `text_completion` chunks into a `text_completion`. Per choice (by `index`): text and
/// refusal are concatenated, tool calls are rebuilt from their deltas by index (names and
/// arguments concatenated), logprob arrays are concatenated, and the last `finish_reason`
/// wins. `usage` comes from whichever chunk carries it. Top-level members (`id`, `created`,
/// `model`, `system_fingerprint`, `service_tier`, unknown ones) take the first value that is
/// not blank; `obfuscation`, OpenAI's per-chunk padding, is dropped. Unknown delta members
/// are concatenated when they are strings (`reasoning_content`) and last-wins otherwise.
///
/// A stream that ended early still assembles; check `isComplete` before storing it.
public struct CompletionAssembler: Sendable {
    public let endpoint: String
    private let isChat: Bool
    private var header = JSONObject()
    private var chunkCount = 0
    private var usage: JSONValue = .null
    private var choices: [Int: Choice] = [:]

    public init(endpoint: String) {
        self.endpoint = endpoint
        self.isChat = endpoint != "completion"
    }

    /// Every choice seen so far has a `finish_reason`: the stream was not cut short.
    public var isComplete: Bool {
        !choices.isEmpty && choices.values.allSatisfy { !$0.finishReason.isNull }
    }

    /// Takes one event payload (without `data: `). `[DONE]` is accepted and ignored; an
    /// `error` event throws, since a failed stream must not be stored.
    public mutating func add(event: [UInt8]) throws(CompletionFormatError) {
        let result = event.withUnsafeBytes { raw in
            Result { () throws(CompletionFormatError) in try Self.parseChunk(raw) }
        }
        try add(chunk: result.get())
    }

    /// The same, reading the payload in place (an SSE parser's buffer, say).
    public mutating func add(event: UnsafeRawBufferPointer) throws(CompletionFormatError) {
        try add(chunk: Self.parseChunk(event))
    }

    /// Nil for `[DONE]`.
    private static func parseChunk(_ event: UnsafeRawBufferPointer) throws(CompletionFormatError) -> JSONObject? {
        if isDone(event) { return nil }
        let chunk: JSONValue
        do {
            chunk = try JSONParser.parse(event)
        } catch {
            throw CompletionFormatError(.invalidJSON, "chunk is not JSON: \(error)")
        }
        guard case .object(let object) = chunk else {
            throw CompletionFormatError(.unexpectedShape, "chunk is not a JSON object")
        }
        if let error = object["error"], !error.isNull {
            throw CompletionFormatError(.upstreamError, "stream carried an error: \(error)")
        }
        return object
    }

    private mutating func add(chunk: JSONObject?) throws(CompletionFormatError) {
        guard let object = chunk else { return }
        chunkCount += 1
        for (key, value) in object where !Self.perChunkMembers.contains(key) && !Self.isBlank(value) {
            if header[key].map(Self.isBlank) ?? true { header[key] = value }
        }
        if let usage = object["usage"], !usage.isNull { self.usage = usage }
        for (position, choice) in (object["choices"]?.arrayValue ?? []).enumerated() {
            guard case .object(let choice) = choice else {
                throw CompletionFormatError(.unexpectedShape, "choice is not a JSON object")
            }
            let index = choice["index"]?.intValue ?? position
            choices[index, default: Choice()].merge(choice, isChat: isChat)
        }
    }

    public func assembled() throws(CompletionFormatError) -> [UInt8] {
        JSONWriter.bytes(try assembledValue())
    }

    public func assembledValue() throws(CompletionFormatError) -> JSONValue {
        guard chunkCount > 0 else { throw CompletionFormatError(.empty, "no chunks were added") }
        var body = JSONObject()
        if let id = header["id"] { body["id"] = id }
        body["object"] = isChat ? "chat.completion" : "text_completion"
        if let created = header["created"] { body["created"] = created }
        if let model = header["model"] { body["model"] = model }
        let ordered = choices.sorted { $0.key < $1.key }
        body["choices"] = .array(
            ordered.map { isChat ? $0.value.chatChoice(index: $0.key) : $0.value.textChoice(index: $0.key) }
        )
        body["usage"] = usage
        for (key, value) in header where body[key] == nil && key != "object" { body[key] = value }
        return .object(body)
    }

    /// Members that are not about the completion as a whole.
    private static let perChunkMembers: Set<String> = ["choices", "usage", "obfuscation"]

    /// Azure opens a stream with a chunk whose `id`, `model` and `object` are "" and `created` 0,
    /// so top-level members take the first value that is not blank.
    private static func isBlank(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return true
        case .string(let text): return text.isEmpty
        case .number(let lexeme): return lexeme == "0"
        default: return false
        }
    }

    private static func isDone(_ event: UnsafeRawBufferPointer) -> Bool {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D }
        guard let first = event.firstIndex(where: { !isSpace($0) }), let last = event.lastIndex(where: { !isSpace($0) })
        else { return false }
        return event[first...last].elementsEqual("[DONE]".utf8)
    }
}

/// Why a completion could not be assembled or synthesised.
public struct CompletionFormatError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private let name: String
        private init(_ name: String) { self.name = name }

        public static let invalidJSON = Code("invalid_json")
        public static let unexpectedShape = Code("unexpected_shape")
        public static let upstreamError = Code("upstream_error")
        public static let empty = Code("empty")
    }

    public let code: Code
    public let reason: String

    init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
}

extension CompletionAssembler {
    /// The accumulated state of one choice.
    private struct Choice: Sendable {
        var role: JSONValue?
        var content: String?
        var refusal: String?
        var text = ""
        var toolCalls: [Int: ToolCall] = [:]
        var functionCall: ToolCall?
        var deltaExtras = Fragments()
        var choiceExtras = JSONObject()
        var logprobs: Fragments?
        var finishReason: JSONValue = .null

        mutating func merge(_ choice: JSONObject, isChat: Bool) {
            for (key, value) in choice where !value.isNull {
                switch key {
                case "index": break
                case "finish_reason": finishReason = value
                case "logprobs":
                    guard case .object(let incoming) = value else { break }
                    var merged = logprobs ?? Fragments()
                    logprobs = nil  // keeps the arrays uniquely referenced while they grow
                    merged.merge(incoming)
                    logprobs = merged
                case "delta" where isChat: value.objectValue.map { mergeDelta($0) }
                case "text" where !isChat: text += value.stringValue ?? ""
                default: choiceExtras[key] = value
                }
            }
        }

        private mutating func mergeDelta(_ delta: JSONObject) {
            for (key, value) in delta where !value.isNull {
                switch (key, value) {
                case ("role", _): role = value
                case ("content", .string(let piece)): Self.append(piece, to: &content)
                case ("refusal", .string(let piece)): Self.append(piece, to: &refusal)
                case ("tool_calls", .array(let calls)):
                    for (position, call) in calls.enumerated() {
                        guard case .object(let call) = call else { continue }
                        toolCalls[call["index"]?.intValue ?? position, default: ToolCall()].merge(call)
                    }
                case ("function_call", .object(let call)):
                    var merged = functionCall ?? ToolCall()
                    merged.merge(["function": .object(call)])
                    functionCall = merged
                default:
                    deltaExtras.merge(key, value)
                }
            }
        }

        /// Appends in place: rebuilding the string per delta would make a long answer quadratic.
        private static func append(_ piece: String, to text: inout String?) {
            if text == nil { text = "" }
            text!.append(piece)
        }

        func chatChoice(index: Int) -> JSONValue {
            var message: JSONObject = ["role": role ?? "assistant", "content": content.map(JSONValue.string) ?? .null]
            if let refusal { message["refusal"] = .string(refusal) }
            if !toolCalls.isEmpty {
                message["tool_calls"] = .array(toolCalls.sorted { $0.key < $1.key }.map { $0.value.toolCallValue })
            }
            if let functionCall { message["function_call"] = functionCall.functionValue }
            for (key, value) in deltaExtras.object { message[key] = value }
            var choice: JSONObject = ["index": .number(String(index)), "message": .object(message)]
            choice["logprobs"] = logprobs.map { .object($0.object) } ?? .null
            choice["finish_reason"] = finishReason
            for (key, value) in choiceExtras { choice[key] = value }
            return .object(choice)
        }

        func textChoice(index: Int) -> JSONValue {
            var choice: JSONObject = ["index": .number(String(index)), "text": .string(text)]
            choice["logprobs"] = logprobs.map { .object($0.object) } ?? .null
            choice["finish_reason"] = finishReason
            for (key, value) in choiceExtras { choice[key] = value }
            return .object(choice)
        }
    }

    /// A tool call rebuilt from deltas: the first `id` and `type` seen, name and arguments joined.
    private struct ToolCall: Sendable {
        var id: JSONValue?
        var type: JSONValue?
        var name: String?
        var arguments = ""

        mutating func merge(_ delta: JSONObject) {
            if let id = delta["id"], !id.isNull, self.id == nil { self.id = id }
            if let type = delta["type"], !type.isNull, self.type == nil { self.type = type }
            guard let function = delta["function"]?.objectValue else { return }
            if let piece = function["name"]?.stringValue { name = (name ?? "") + piece }
            if let piece = function["arguments"]?.stringValue { arguments += piece }
        }

        var functionValue: JSONValue {
            ["name": .string(name ?? ""), "arguments": .string(arguments)]
        }

        var toolCallValue: JSONValue {
            var call = JSONObject()
            if let id { call["id"] = id }
            call["type"] = type ?? "function"
            call["function"] = functionValue
            return .object(call)
        }
    }

    /// An object rebuilt from fragments, in first-seen key order: strings and arrays are
    /// concatenated (`reasoning_content`, logprob `content`, `tokens`, `text_offset`, ...),
    /// anything else is last-wins, and a null only fills a key not seen before. Fragments are
    /// appended in place, so a long stream costs linear time.
    private struct Fragments: Sendable {
        private var keys: [String] = []
        private var strings: [String: String] = [:]
        private var arrays: [String: [JSONValue]] = [:]
        private var others: [String: JSONValue] = [:]

        mutating func merge(_ object: JSONObject) {
            for (key, value) in object { merge(key, value) }
        }

        mutating func merge(_ key: String, _ value: JSONValue) {
            let isNew = strings[key] == nil && arrays[key] == nil && others[key] == nil
            if isNew { keys.append(key) }
            switch value {
            case .null:
                if isNew { others[key] = .null }
            case .string(let piece) where arrays[key] == nil:
                others[key] = nil
                strings[key, default: ""].append(piece)
            case .array(let elements) where strings[key] == nil:
                others[key] = nil
                arrays[key, default: []].append(contentsOf: elements)
            default:
                strings[key] = nil
                arrays[key] = nil
                others[key] = value
            }
        }

        var object: JSONObject {
            var object = JSONObject()
            for key in keys {
                if let text = strings[key] {
                    object[key] = .string(text)
                } else if let elements = arrays[key] {
                    object[key] = .array(elements)
                } else {
                    object[key] = others[key]
                }
            }
            return object
        }
    }
}
