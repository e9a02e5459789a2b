import Foundation

/// Serves embeddings from one `BertEncoder` to concurrent callers, on a thread of its own.
///
/// Requests wait in a bounded FIFO queue. The engine thread sleeps while the queue is empty; when it wakes it
/// takes every waiting request that fits in one round (`maxBatchTexts` texts), tokenises their texts and runs them
/// through the model together, in forward passes of up to `maxBatchTokens` tokens, so that requests arriving
/// together share each pass over the weights. The encoder's thread pool does the matrix work; the engine thread is
/// its caller and counts as one of its threads.
public final class EmbeddingEngine: @unchecked Sendable {
    public let encoder: BertEncoder
    public let configuration: EmbeddingEngineConfiguration

    struct Job {
        var id: UInt64
        var texts: [String]
        var complete: @Sendable (Result<EmbeddingResult, EngineError>) -> Void
    }

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [Job] = []
    private var stopping = false
    private var statistics = EmbeddingStatistics()
    private var nextID: UInt64 = 0
    /// Requests of `embed` between taking an id and entering the queue, and those of them cancelled meanwhile.
    private var arriving: Set<UInt64> = []
    private var cancelledArriving: Set<UInt64> = []

    public init(encoder: BertEncoder, configuration: EmbeddingEngineConfiguration = EmbeddingEngineConfiguration()) {
        precondition(configuration.maxQueued >= 1 && configuration.maxBatchTexts >= 1 && configuration.maxBatchTokens >= 1)
        self.encoder = encoder
        self.configuration = configuration
        // The thread keeps the engine alive until `shutdown()` or `retire()` lets its loop end.
        let thread = Thread { [self] in self.workLoop() }
        thread.name = "tollgate-embed"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Loads a `bert` GGUF file (`threads`: the forward pass's threads, the engine thread included; 0: one per core).
    public convenience init(
        path: String,
        threads: Int = 0,
        configuration: EmbeddingEngineConfiguration = EmbeddingEngineConfiguration()
    ) throws {
        self.init(encoder: try BertEncoder(path: path, threads: threads), configuration: configuration)
    }

    /// One vector per text, in order, with token counts. Throws `queueFull` when `maxQueued` requests are
    /// waiting, `stopped` after `shutdown()`/`retire()`, `cancelled` when the task is cancelled while the request
    /// waits, and `contextExceeded` for a text over the context length when `truncate` is off.
    public func embed(_ texts: [String]) async throws(EngineError) -> EmbeddingResult {
        guard !texts.isEmpty else { return EmbeddingResult(vectors: [], tokenCounts: []) }
        let id = takeID()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<EmbeddingResult, EngineError>, Never>) in
                let job = Job(id: id, texts: texts) { continuation.resume(returning: $0) }
                if let refusal = enqueue(job) { continuation.resume(returning: .failure(refusal)) }
            }
        } onCancel: {
            cancel(id)
        }
        return try result.get()
    }

    /// The callback form of `embed`: `completion` runs once, on the engine thread (or here, for a refusal).
    public func submit(_ texts: [String], completion: @escaping @Sendable (Result<EmbeddingResult, EngineError>) -> Void) {
        guard !texts.isEmpty else {
            completion(.success(EmbeddingResult(vectors: [], tokenCounts: [])))
            return
        }
        let job = Job(id: takeID(), texts: texts, complete: completion)
        if let refusal = enqueue(job) { completion(.failure(refusal)) }
    }

    /// Refuses new requests, finishes the queued ones, then ends the thread (a model replaced by a reload).
    public func retire() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Finishes the round running now, fails the queued requests with `stopped`, and ends the thread.
    public func shutdown() {
        condition.lock()
        stopping = true
        let dropped = queue
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
        for job in dropped { job.complete(.failure(EngineError(.stopped, "The embedding engine is shutting down."))) }
    }

    public var snapshot: EmbeddingStatistics {
        condition.lock()
        defer { condition.unlock() }
        var copy = statistics
        copy.queued = queue.count
        return copy
    }

    // MARK: Queue

    private func takeID() -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        nextID &+= 1
        arriving.insert(nextID)
        return nextID
    }

    /// Queues `job`, or says why not (without calling its completion).
    private func enqueue(_ job: Job) -> EngineError? {
        condition.lock()
        defer { condition.unlock() }
        arriving.remove(job.id)
        if cancelledArriving.remove(job.id) != nil { return EngineError(.cancelled, "The request was cancelled.") }
        guard !stopping else { return EngineError(.stopped, "The embedding engine is shutting down.") }
        guard queue.count < configuration.maxQueued else {
            statistics.requestsRejected += 1
            return EngineError(
                .queueFull,
                "The local embedding engine is busy: \(queue.count) requests are already waiting. Retry shortly."
            )
        }
        queue.append(job)
        condition.signal()
        return nil
    }

    /// A cancelled request that still waits leaves the queue; one already running finishes.
    private func cancel(_ id: UInt64) {
        condition.lock()
        if let index = queue.firstIndex(where: { $0.id == id }) {
            let job = queue.remove(at: index)
            condition.unlock()
            job.complete(.failure(EngineError(.cancelled, "The request was cancelled.")))
            return
        }
        if arriving.contains(id) { cancelledArriving.insert(id) }
        condition.unlock()
    }

    // MARK: Engine thread

    private func workLoop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            guard !queue.isEmpty else {
                condition.unlock()
                return
            }
            var jobs = [queue.removeFirst()]
            var texts = jobs[0].texts.count
            while let next = queue.first, texts + next.texts.count <= configuration.maxBatchTexts {
                jobs.append(queue.removeFirst())
                texts += next.texts.count
            }
            statistics.running = jobs.count
            condition.unlock()

            let started = MonotonicTime.now()
            let outcomes = run(jobs)
            let seconds = MonotonicTime.now() - started

            condition.lock()
            statistics.running = 0
            statistics.busySeconds += seconds
            for outcome in outcomes {
                switch outcome {
                case .success(let result):
                    statistics.requestsCompleted += 1
                    statistics.texts += result.vectors.count
                    statistics.tokens += result.promptTokens
                case .failure:
                    statistics.requestsFailed += 1
                }
            }
            statistics.batches += 1
            condition.unlock()

            for (job, outcome) in zip(jobs, outcomes) { job.complete(outcome) }
        }
    }

    /// Tokenises every job's texts, runs the valid ones through the model together, and splits the vectors back.
    private func run(_ jobs: [Job]) -> [Result<EmbeddingResult, EngineError>] {
        let context = encoder.configuration.maxInputTokens
        var outcomes: [Result<EmbeddingResult, EngineError>?] = Array(repeating: nil, count: jobs.count)
        var sequences: [[Int32]] = []
        var spans: [(job: Int, range: Range<Int>, truncated: Int)] = []
        for (index, job) in jobs.enumerated() {
            var tokenized: [[Int32]] = []
            tokenized.reserveCapacity(job.texts.count)
            var truncated = 0
            var failure: EngineError?
            for (n, text) in job.texts.enumerated() {
                // One token over the context shows that the text does not fit.
                var ids = encoder.tokenizer.encode(text, maxLength: context + 1)
                if ids.count > context {
                    guard configuration.truncate else {
                        failure = EngineError(
                            .contextExceeded,
                            "Input \(n) is longer than the \(context) tokens this model takes."
                        )
                        break
                    }
                    ids.removeSubrange((context - 1)..<(ids.count - 1))
                    truncated += 1
                }
                tokenized.append(ids)
            }
            if let failure {
                outcomes[index] = .failure(failure)
                continue
            }
            spans.append((index, sequences.count..<(sequences.count + tokenized.count), truncated))
            sequences += tokenized
        }
        if !sequences.isEmpty {
            do {
                let vectors = try encoder.embed(tokenized: sequences, maxBatchTokens: configuration.maxBatchTokens)
                for span in spans {
                    outcomes[span.job] = .success(
                        EmbeddingResult(
                            vectors: Array(vectors[span.range]),
                            tokenCounts: sequences[span.range].map(\.count),
                            truncatedCount: span.truncated
                        )
                    )
                }
            } catch {
                for span in spans { outcomes[span.job] = .failure(EngineError(.evaluation, error.description)) }
            }
        }
        return outcomes.map { $0! }
    }
}
