/// Why no chat template could be chosen: where the template came from, and what is wrong with it.
public struct ChatTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// "tokenizer.chat_template" (the model's) or "policy chat_template".
    public var part: String
    public var reason: String

    public init(part: String, reason: String) {
        self.part = part
        self.reason = reason
    }

    public var description: String { "\(part): \(reason)" }
}
