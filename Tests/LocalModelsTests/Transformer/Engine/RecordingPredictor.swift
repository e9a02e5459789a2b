import Foundation

@testable import LocalModels

/// A `LanguageModel` that records what the engine puts in each batched step, and lets a test act
/// at a chosen step (on the engine thread, before the step's forward pass) and lower the KV
/// memory the engine may commit.
final class RecordingPredictor: TokenPredictor, @unchecked Sendable {
    typealias State = KVSequence

    /// One sequence's part of a step.
    struct Entry: Hashable {
        /// The sequence's first prompt token when it first appeared, which tests make unique.
        var request: Int32
        var tokens: Int
        var wantsLogits: Bool
        /// Positions the sequence held before the step.
        var position: Int
    }

    let model: LanguageModel
    private let lock = NSLock()
    private var recorded: [[Entry]] = []
    private var owners: [ObjectIdentifier: Int32] = [:]
    private let capacityOverride: Int?
    /// Called with each step's index and entries before it runs.
    var beforeStep: (@Sendable (Int, [Entry]) -> Void)?

    init(_ model: LanguageModel, kvCapacityBytes: Int? = nil) {
        self.model = model
        capacityOverride = kvCapacityBytes
    }

    var steps: [[Entry]] { lock.withLock { recorded } }

    var vocabularySize: Int { model.vocabularySize }
    var contextLength: Int { model.contextLength }
    var kvBytesInUse: Int { model.kvBytesInUse }
    var kvCapacityBytes: Int { capacityOverride ?? model.kvCapacityBytes }
    func kvBytes(positions: Int) -> Int { model.kvBytes(positions: positions) }
    func makeState() throws -> KVSequence { try model.makeState() }
    func release(_ state: inout KVSequence) { model.release(&state) }
    func makeState(reusing prompt: [Int32], scope: String) throws -> (state: KVSequence, reused: Int) {
        try model.makeState(reusing: prompt, scope: scope)
    }
    func keep(_ state: KVSequence, tokens: [Int32], scope: String) { model.keep(state, tokens: tokens, scope: scope) }

    func evaluate(_ tokens: [Int32], state: inout KVSequence, logits: UnsafeMutableBufferPointer<Float>?) throws {
        var batch = [PredictorStep(state: state, tokens: tokens, logits: logits)]
        try evaluate(batch: &batch)
    }

    func evaluate(batch: inout [PredictorStep<KVSequence>]) throws {
        let (index, entries) = lock.withLock {
            let entries = batch.map { step in
                let id = ObjectIdentifier(step.state)
                if owners[id] == nil || step.state.count == 0 { owners[id] = step.tokens.first ?? -1 }
                return Entry(
                    request: owners[id]!, tokens: step.tokens.count, wantsLogits: step.logits != nil,
                    position: step.state.count)
            }
            recorded.append(entries)
            return (recorded.count - 1, entries)
        }
        beforeStep?(index, entries)
        try model.evaluate(batch: &batch)
    }
}
