/// What the engine needs from a model: per-sequence state and next-token logits.
///
/// `TransformerModel` is the real one; tests drive the engine's queueing, stops and cancellation
/// with small deterministic predictors.
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
    /// Gives the sequence's memory back.
    func release(_ state: inout State)
    /// Bytes of KV memory in use across all sequences.
    var kvBytesInUse: Int { get }
    /// Fresh state for a sequence that starts with `prompt`, holding as much of it as earlier
    /// sequences in `scope` left behind; `reused` positions need no evaluation.
    func makeState(reusing prompt: [Int32], scope: String) throws -> (state: State, reused: Int)
    /// Offers the state's positions (which hold `tokens`) for later sequences in `scope`.
    func keep(_ state: State, tokens: [Int32], scope: String)
}

extension TokenPredictor {
    /// No reuse: a predictor without a prefix cache starts every sequence empty.
    public func makeState(reusing prompt: [Int32], scope: String) throws -> (state: State, reused: Int) {
        (try makeState(), 0)
    }

    public func keep(_ state: State, tokens: [Int32], scope: String) {}
}
