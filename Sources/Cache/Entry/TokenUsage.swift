/// The token counts of a completion or embedding, as its `usage` object reports them.
public struct TokenUsage: Sendable, Hashable {
    public var promptTokens: Int
    public var completionTokens: Int

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    public var totalTokens: Int { promptTokens + completionTokens }

    /// Reads `usage` from a response body; nil when the body is not JSON or has no usage.
    public static func parse(body: [UInt8]) -> TokenUsage? {
        guard case .object(let object)? = try? JSONParser.parse(body) else { return nil }
        return TokenUsage(object["usage"])
    }

    /// `{"prompt_tokens": P, "completion_tokens": C, ...}`; an embedding's usage has no completion part.
    public init?(_ usage: JSONValue?) {
        guard case .object(let fields)? = usage, let prompt = fields["prompt_tokens"]?.intValue, prompt >= 0 else {
            return nil
        }
        let completion = fields["completion_tokens"]?.intValue ?? 0
        self.init(promptTokens: prompt, completionTokens: max(0, completion))
    }
}
