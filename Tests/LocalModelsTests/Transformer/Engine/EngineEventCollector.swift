import Foundation

@testable import LocalModels

/// Gathers one request's events from the engine thread; `wait()` blocks until the last one.
final class EngineEventCollector: @unchecked Sendable {
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private var events: [GenerationEvent] = []
    private var onText: (@Sendable () -> Void)?
    private var onEvent: (@Sendable (GenerationEvent) -> Void)?

    init(onEvent: (@Sendable (GenerationEvent) -> Void)? = nil, onText: (@Sendable () -> Void)? = nil) {
        self.onEvent = onEvent
        self.onText = onText
    }

    func handle(_ event: GenerationEvent) {
        lock.withLock { events.append(event) }
        onEvent?(event)
        switch event {
        case .text: onText?()
        case .finished, .failed: done.signal()
        }
    }

    struct Outcome {
        var text: String
        var tokens: [GeneratedToken]
        var summary: GenerationSummary?
        var error: EngineError?
        var textEvents: Int
    }

    func wait(timeout: Double = 60) -> Outcome? {
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return lock.withLock {
            var outcome = Outcome(text: "", tokens: [], summary: nil, error: nil, textEvents: 0)
            for event in events {
                switch event {
                case .text(let text, let tokens):
                    outcome.text += text
                    outcome.tokens += tokens
                    outcome.textEvents += 1
                case .finished(let summary): outcome.summary = summary
                case .failed(let error): outcome.error = error
                }
            }
            return outcome
        }
    }
}
