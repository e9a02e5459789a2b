/// What the engine needs from a model: per-sequence state, next-token logits for a batch of
/// sequences at once, and how much KV memory a sequence takes.
///
/// `LanguageModel` (over `TransformerModel`) is the real one; tests wrap it to watch what the
/// engine batches.
public protocol TokenPredictor: AnyObject, Sendable {
    associatedtype State

    var vocabularySize: Int { get }
    /// Positions a sequence may hold.
    var contextLength: Int { get }
    /// Fresh state for one sequence.
    func makeState() throws -> State
    /// Appends `tokens` to the sequence and writes the logits of the last one into `logits`
    /// (`vocabularySize` floats); nil skips the output head (a prefill chunk that is not the last).
    func evaluate(_ tokens: [Int32], state: inout State, logits: UnsafeMutableBufferPointer<Float>?) throws
    /// One step of continuous batching: every entry's tokens appended to its sequence in one pass
    /// (the sequences share each weight read), each entry's last logits written as `evaluate`
    /// does. Throws having changed no sequence, so the caller can retry the entries one by one to
    /// find the one at fault.
    func evaluate(batch: inout [PredictorStep<State>]) throws
    /// Gives the sequence's memory back.
    func release(_ state: inout State)
    /// Bytes of KV memory in use across all sequences.
    var kvBytesInUse: Int { get }
    /// Bytes of KV memory the running sequences may hold together (earlier prompts' prefixes
    /// that no sequence uses give way to them).
    var kvCapacityBytes: Int { get }
    /// Bytes of KV memory a sequence of `positions` positions holds.
    func kvBytes(positions: Int) -> Int
    /// Fresh state for a sequence that starts with `prompt`, holding as much of it as earlier
    /// sequences in `scope` left behind; `reused` positions need no evaluation.
    func makeState(reusing prompt: [Int32], scope: String) throws -> (state: State, reused: Int)
    /// Offers the state's positions (which hold `tokens`) for later sequences in `scope`.
    func keep(_ state: State, tokens: [Int32], scope: String)
}

/// One sequence's part of a batched step: tokens to append, and where its logits go (nil: none).
public struct PredictorStep<State> {
    public var state: State
    public var tokens: [Int32]
    public var logits: UnsafeMutableBufferPointer<Float>?

    public init(state: State, tokens: [Int32], logits: UnsafeMutableBufferPointer<Float>?) {
        self.state = state
        self.tokens = tokens
        self.logits = logits
    }
}

extension TokenPredictor {
    /// No reuse: a predictor without a prefix cache starts every sequence empty.
    public func makeState(reusing prompt: [Int32], scope: String) throws -> (state: State, reused: Int) {
        (try makeState(), 0)
    }

    public func keep(_ state: State, tokens: [Int32], scope: String) {}
}
