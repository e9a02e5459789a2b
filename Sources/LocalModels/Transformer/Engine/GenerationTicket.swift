import Synchronization

/// The caller's handle on a submitted request: cancelling it stops the work at the next token
/// (or prefill chunk), or drops it from the queue if it has not started.
public final class GenerationTicket: Sendable {
    private let cancelled = Atomic<Bool>(false)

    init() {}

    public func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}
