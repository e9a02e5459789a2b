import Foundation

/// Runs completions on one model with continuous batching, on a thread of its own.
///
/// Requests wait in a bounded queue that serves tenants in turn, and join the running batch (at
/// most `maxBatch` sequences, and as many as the KV memory holds at their longest) at step
/// boundaries. Each step is one batched forward pass: the next token of every decoding sequence
/// plus one chunk of one joining sequence's prompt, so a long prompt delays the others' next
/// token by one chunk at a time, never by its whole prefill. A request whose KV memory is not
/// free waits (the queue stays in order) until sequences leave; one that could never fit fails.
///
/// Each request's events arrive through its callback, on the engine thread, in order: text as
/// it is generated, then `finished` or `failed`. The model's matrix work may use an
/// `EngineThreadPool`; the engine thread is its caller and counts as one of its threads.
public final class TransformerEngine<Predictor: TokenPredictor>: @unchecked Sendable {
    public let predictor: Predictor
    public let tokenizer: Tokenizer
    public let configuration: EngineConfiguration

    struct Job {
        var request: GenerationRequest
        var ticket: GenerationTicket
        var submitted: Double
        var emit: @Sendable (GenerationEvent) -> Void
    }

    /// Requests taken from the queue at a step boundary.
    struct Admission {
        var admitted: [(job: Job, reservedBytes: Int)] = []
        var refused: [(job: Job, error: EngineError)] = []
    }

    let condition = NSCondition()
    // Guarded by `condition`.
    var queue: FairQueue<Job>
    var stopping = false
    var statistics = EngineStatistics()
    private var worker: Thread?

    public init(predictor: Predictor, tokenizer: Tokenizer, configuration: EngineConfiguration = EngineConfiguration()) {
        self.predictor = predictor
        self.tokenizer = tokenizer
        self.configuration = configuration
        self.queue = FairQueue(capacity: configuration.maxQueued)
        // The thread keeps the engine alive until `shutdown()` lets its loop end.
        let thread = Thread { [self] in self.workLoop() }
        thread.name = "tollgate-engine"
        thread.stackSize = 8 << 20
        worker = thread
        thread.start()
    }

    /// Queues a request. Throws `queueFull` or `stopped` without calling `emit`.
    public func submit(
        _ request: GenerationRequest,
        emit: @escaping @Sendable (GenerationEvent) -> Void
    ) throws(EngineError) -> GenerationTicket {
        let ticket = GenerationTicket()
        let job = Job(request: request, ticket: ticket, submitted: MonotonicTime.now(), emit: emit)
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw EngineError(.stopped, "The engine is shutting down.") }
        guard queue.push(job, tenant: request.tenant) else {
            statistics.requestsRejected += 1
            throw EngineError(
                .queueFull,
                "The local engine is busy: \(queue.capacity) requests are already waiting. Retry shortly."
            )
        }
        condition.signal()
        return ticket
    }

    /// Refuses new requests, finishes the queued ones, then ends the thread (a model replaced by a reload).
    public func retire() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Finishes the requests running now, fails the queued ones with `stopped`, and ends the thread.
    public func shutdown() {
        condition.lock()
        stopping = true
        let dropped = queue.removeAll { _ in true }
        condition.broadcast()
        condition.unlock()
        for job in dropped { job.emit(.failed(EngineError(.stopped, "The engine is shutting down."))) }
    }

    public var snapshot: EngineStatistics {
        condition.lock()
        defer { condition.unlock() }
        var copy = statistics
        copy.queued = queue.count
        copy.kvBytesInUse = predictor.kvBytesInUse
        return copy
    }
}

/// Seconds on a clock that never jumps.
public enum MonotonicTime {
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
