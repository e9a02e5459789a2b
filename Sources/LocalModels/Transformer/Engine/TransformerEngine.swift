import Foundation

/// Runs completions on one model, one at a time, on a thread of its own.
///
/// Requests wait in a bounded queue that serves tenants in turn. Each request's events arrive
/// through its callback, on the engine thread, in order: text as it is generated, then
/// `finished` or `failed`. The model's matrix work may use an `EngineThreadPool`; the engine
/// thread is its caller and counts as one of its threads.
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

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: FairQueue<Job>
    private var stopping = false
    private var statistics = EngineStatistics()
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

    /// Finishes the request running now, fails the queued ones with `stopped`, and ends the thread.
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

    private func workLoop() {
        var logits = [Float](repeating: 0, count: predictor.vocabularySize)
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            guard let job = queue.pop() else {
                condition.unlock()
                return
            }
            statistics.running = 1
            condition.unlock()

            let outcome: Result<GenerationSummary, EngineError> = logits.withUnsafeMutableBufferPointer { buffer in
                var run = GenerationRun(job: job, predictor: predictor, tokenizer: tokenizer, configuration: configuration)
                return run.execute(logits: buffer)
            }

            condition.lock()
            statistics.running = 0
            switch outcome {
            case .success(let summary):
                statistics.requestsCompleted += 1
                statistics.promptTokens += summary.promptTokens
                statistics.cachedPromptTokens += summary.cachedPromptTokens
                statistics.completionTokens += summary.completionTokens
                statistics.prefillSeconds += summary.prefillSeconds
                statistics.decodeSeconds += summary.decodeSeconds
                statistics.sumLogProbability += summary.sumLogProbability
            case .failure:
                statistics.requestsFailed += 1
            }
            condition.unlock()

            switch outcome {
            case .success(let summary): job.emit(.finished(summary))
            case .failure(let error): job.emit(.failed(error))
            }
        }
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
