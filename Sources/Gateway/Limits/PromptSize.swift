import Cache
import Router

/// How many tokens a request's prompt may take, before any tokenizer has seen it.
///
/// `upperBound` is what budgets reserve: a byte-level BPE or SentencePiece token covers at
/// least one byte, so the UTF-8 length plus each message's framing can never be exceeded (an
/// image part is counted at a high-detail image's price). `estimate` is what a tokens-per-minute
/// window is charged at admission (about four bytes per token, as OpenAI's guidance has it); the
/// real count from `usage` settles the difference afterwards.
struct PromptSize: Sendable, Hashable {
    var upperBound: Int
    var estimate: Int
    /// `max_tokens` (or `max_completion_tokens`), or the configured default; 0 for embeddings.
    var maxCompletionTokens: Int

    static let tokensPerImage = 1_600
    static let tokensPerMessage = 4

    init(upperBound: Int, estimate: Int, maxCompletionTokens: Int) {
        self.upperBound = upperBound
        self.estimate = estimate
        self.maxCompletionTokens = maxCompletionTokens
    }

    init(kind: EndpointKind, body: JSONObject, defaultMaxTokens: Int) {
        var bytes = 0
        var framed = 0
        var images = 0
        var tokenIDs = 0
        switch kind {
        case .chat:
            for message in body["messages"]?.arrayValue ?? [] {
                framed += Self.tokensPerMessage
                guard case .object(let fields) = message else { continue }
                for (name, value) in fields where name != "role" {
                    Self.measure(value, bytes: &bytes, images: &images)
                }
            }
            for extra in ["tools", "functions", "response_format"] {
                if let value = body[extra] { bytes += JSONWriter.bytes(value).count }
            }
        case .completion:
            Self.measurePrompt(body["prompt"], bytes: &bytes, tokenIDs: &tokenIDs)
            if case .string(let suffix)? = body["suffix"] { bytes += suffix.utf8.count }
        case .embedding:
            Self.measurePrompt(body["input"], bytes: &bytes, tokenIDs: &tokenIDs)
        case .predict:
            break
        }
        let fixed = framed + images * Self.tokensPerImage + tokenIDs + (kind == .chat ? 3 : 1)
        upperBound = bytes + fixed
        estimate = (bytes + 3) / 4 + fixed
        if kind == .embedding || kind == .predict {
            maxCompletionTokens = 0
        } else {
            let asked = body["max_completion_tokens"]?.intValue ?? body["max_tokens"]?.intValue
            maxCompletionTokens = max(0, asked ?? defaultMaxTokens)
        }
    }

    /// Text anywhere in a message (content strings, text parts, tool-call arguments, names).
    private static func measure(_ value: JSONValue, bytes: inout Int, images: inout Int) {
        switch value {
        case .string(let text):
            bytes += text.utf8.count
        case .array(let items):
            for item in items { measure(item, bytes: &bytes, images: &images) }
        case .object(let fields):
            if fields["image_url"] != nil || fields["type"]?.stringValue == "image_url" {
                images += 1
                return
            }
            for (name, item) in fields where name != "type" { measure(item, bytes: &bytes, images: &images) }
        default:
            break
        }
    }

    /// A string, an array of strings, an array of token ids, or an array of those arrays.
    private static func measurePrompt(_ value: JSONValue?, bytes: inout Int, tokenIDs: inout Int) {
        switch value {
        case .string(let text)?:
            bytes += text.utf8.count
        case .array(let items)?:
            for item in items {
                switch item {
                case .number: tokenIDs += 1
                default: measurePrompt(item, bytes: &bytes, tokenIDs: &tokenIDs)
                }
            }
        default:
            break
        }
    }
}
