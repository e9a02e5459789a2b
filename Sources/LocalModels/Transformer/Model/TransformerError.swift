/// Why an evaluation was refused. Nothing is written to a sequence when one of these is thrown:
/// every check runs before the first layer.
///
/// `code` is stable and label-safe (for metrics and HTTP mapping); `reason` is for people.
public struct TransformerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The tokens would run past the context length.
        case contextOverflow = "context_overflow"
        /// The KV cache has no free block left for the tokens.
        case cacheFull = "cache_full"
        /// A token id outside the vocabulary.
        case invalidToken = "invalid_token"
        /// The sequence belongs to a cache made for another model shape.
        case incompatibleCache = "incompatible_cache"
        /// Nothing to evaluate, or the same sequence twice in one batch.
        case invalidRequest = "invalid_request"
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
