import Foundation

@testable import LocalModels

/// Every request's events and the engine's steps in the one order the engine thread produced
/// them, for tests that assert on interleaving rather than timing.
final class EngineEventLog: @unchecked Sendable {
    enum Record: Equatable {
        case step(Int, [RecordingPredictor.Entry])
        case tokens(String, Int)
        case finished(String)
        case failed(String, EngineError.Code)
    }

    private let lock = NSLock()
    private var storage: [Record] = []

    var records: [Record] { lock.withLock { storage } }

    func append(_ record: Record) { lock.withLock { storage.append(record) } }

    /// A collector for request `name` whose events also go into this log.
    func collector(_ name: String, onText: (@Sendable () -> Void)? = nil) -> EngineEventCollector {
        EngineEventCollector(onEvent: { [self] event in
            switch event {
            case .text(_, let tokens): append(.tokens(name, tokens.count))
            case .finished: append(.finished(name))
            case .failed(let error): append(.failed(name, error.code))
            }
        }, onText: onText)
    }

    /// Index of the first record matching `predicate`.
    func first(where predicate: (Record) -> Bool) -> Int? { records.firstIndex(where: predicate) }
}
