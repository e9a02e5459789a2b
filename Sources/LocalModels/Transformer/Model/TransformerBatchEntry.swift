/// One sequence's part of a batched evaluation: tokens appended at its next positions.
public struct TransformerBatchEntry: Sendable {
    public var sequence: KVSequence
    public var tokens: [Int32]
    public var logits: LogitsRequest

    public init(sequence: KVSequence, tokens: [Int32], logits: LogitsRequest = .last) {
        self.sequence = sequence
        self.tokens = tokens
        self.logits = logits
    }
}
