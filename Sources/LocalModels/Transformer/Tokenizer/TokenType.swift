/// The type of a vocabulary entry, as stored in `tokenizer.ggml.token_type` (llama.cpp's `llama_token_type`).
///
/// `undefined` covers 0 and any value llama.cpp does not know: such tokens render as nothing and are never special.
public enum TokenType: Int32, Sendable, Hashable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6

    /// The type for a raw metadata value; values outside 0...6 are `undefined`, as in llama.cpp.
    public init(metadataValue: Int) {
        self = Int32(exactly: metadataValue).flatMap(TokenType.init(rawValue:)) ?? .undefined
    }
}
