/// Which positions of an evaluation need logits. The output head is the largest matrix of a
/// small model, so prefill asks for the last position only.
public enum LogitsRequest: Sendable, Equatable {
    /// No logits (a prefill whose continuation is evaluated later).
    case none
    /// The last evaluated position: `vocabularySize` floats.
    case last
    /// Every evaluated position, in order: `tokens.count * vocabularySize` floats.
    case all

    func rowCount(tokens: Int) -> Int {
        switch self {
        case .none: 0
        case .last: tokens > 0 ? 1 : 0
        case .all: tokens
        }
    }
}
