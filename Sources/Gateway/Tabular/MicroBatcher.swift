import Dispatch
import Foundation
import LocalModels

/// Feeds one model: rows from concurrent requests queue here and are evaluated together on
/// the model's own thread, never on an event loop.
///
/// Batching is opportunistic. A request that finds the engine idle is evaluated at once, so
/// a lone client pays no wait. Requests that arrive while a batch runs queue up and go
/// together in the next one. Only while that happens (the last batch held more than one
/// request) does the engine linger up to `maxWait` for more rows before starting a batch
/// that is not full: under concurrency the wait buys throughput, alone it would only add
/// latency.
///
/// Work that is cheaper than the trip (a row or two of a small model, as measured at load)
/// runs on the submitting thread, an event loop, when the engine is idle: evaluating it costs
/// less than parsing its JSON did, and less than waking the engine thread and waking the loop
/// again. Anything larger, or anything while the engine is busy, queues.
final class MicroBatcher: @unchecked Sendable {
    typealias Completion = @Sendable (_ batch: ForestBatch, _ rows: Range<Int>) -> Void

    struct Overloaded: Error {
        var queuedRows: Int
    }

    private struct Job {
        var rows: [Double]
        var rowCount: Int
        var completion: Completion
    }

    let name: String
    let forest: CompiledForest
    let maxWait: TimeInterval
    let maxBatchRows: Int
    /// Beyond this many waiting rows a submission is refused (the gateway answers 503).
    let maxQueuedRows: Int
    private let metrics: TabularMetrics.Engine
    /// Rows estimated at most this long together run inline; see the type's comment.
    let inlineMaxNanoseconds: UInt64
    /// One row's evaluation time, measured at load (the fastest of a few runs).
    let rowNanoseconds: UInt64

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var queuedRows = 0
    private var firstQueuedAt = Date.distantPast
    private var lastBatchJobs = 0
    private var started = false
    private var retired = false
    /// The engine thread is evaluating a batch.
    private var busy = false
    private var stopped = false

    init(
        name: String, forest: CompiledForest, maxWaitMicros: Int, maxBatchRows: Int, inlineMaxNanoseconds: UInt64,
        metrics: TabularMetrics.Engine
    ) {
        self.name = name
        self.forest = forest
        self.inlineMaxNanoseconds = inlineMaxNanoseconds
        self.rowNanoseconds = inlineMaxNanoseconds > 0 ? Self.measureRow(forest) : .max
        self.maxWait = TimeInterval(maxWaitMicros) / 1e6
        self.maxBatchRows = max(1, maxBatchRows)
        self.maxQueuedRows = max(100_000, 64 * self.maxBatchRows)
        self.metrics = metrics
    }

    /// Queues `rowCount` rows (row-major, `featureCount` wide); `completion` runs on the
    /// engine thread with the batch that holds them and their range in it.
    func submit(rows: [Double], rowCount: Int, completion: @escaping Completion) throws(Overloaded) {
        precondition(rows.count == rowCount * forest.featureCount)
        condition.lock()
        if rowCount <= 64, UInt64(rowCount).multipliedReportingOverflow(by: rowNanoseconds).partialValue <= inlineMaxNanoseconds,
            queue.isEmpty, !busy
        {
            condition.unlock()
            let started = DispatchTime.now().uptimeNanoseconds
            let batch = forest.predict(rows: rows, rowCount: rowCount, threads: 1)
            metrics.recordBatch(rows: rowCount, requests: 1, nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
            completion(batch, 0..<rowCount)
            return
        }
        if stopped {
            // Retired and drained: a request that picked this model just before the swap.
            condition.unlock()
            let batch = forest.predict(rows: rows, rowCount: rowCount, threads: 2)
            completion(batch, 0..<rowCount)
            return
        }
        guard queuedRows + rowCount <= maxQueuedRows || queue.isEmpty else {
            let queued = queuedRows
            condition.unlock()
            throw Overloaded(queuedRows: queued)
        }
        if queue.isEmpty { firstQueuedAt = Date() }
        queue.append(Job(rows: rows, rowCount: rowCount, completion: completion))
        queuedRows += rowCount
        metrics.queuedRows.set(Int64(queuedRows))
        if !started {
            started = true
            let thread = Thread { [self] in run() }
            thread.name = "tollgate-forest-\(name)"
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    /// Stops the thread once the queue is empty. Later submissions run on the caller.
    func retire() {
        condition.lock()
        retired = true
        if !started { stopped = true }
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while let jobs = nextBatch() {
            evaluate(jobs)
            condition.lock()
            busy = false
            condition.unlock()
        }
    }

    /// The fastest of a few single-row evaluations of a row of zeros.
    private static func measureRow(_ forest: CompiledForest) -> UInt64 {
        let row = [Double](repeating: 0, count: forest.featureCount)
        var best = UInt64.max
        for _ in 0..<8 {
            let started = DispatchTime.now().uptimeNanoseconds
            _ = forest.predict(row: row)
            best = min(best, DispatchTime.now().uptimeNanoseconds - started)
        }
        return max(best, 1)
    }

    /// Waits for work, lingers when it pays, and takes up to `maxBatchRows` rows (at least
    /// one job, however large). Nil once retired with nothing left.
    private func nextBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty {
            if retired {
                stopped = true
                return nil
            }
            condition.wait()
        }
        if lastBatchJobs > 1, maxWait > 0 {
            let deadline = firstQueuedAt.addingTimeInterval(maxWait)
            while queuedRows < maxBatchRows, !retired, Date() < deadline {
                _ = condition.wait(until: deadline)
            }
        }
        var taken: [Job] = []
        var rows = 0
        while let job = queue.first, taken.isEmpty || rows + job.rowCount <= maxBatchRows {
            taken.append(queue.removeFirst())
            rows += job.rowCount
        }
        queuedRows -= rows
        if !queue.isEmpty { firstQueuedAt = Date() }
        lastBatchJobs = taken.count
        busy = true
        metrics.queuedRows.set(Int64(queuedRows))
        return taken
    }

    private func evaluate(_ jobs: [Job]) {
        let started = DispatchTime.now().uptimeNanoseconds
        let rowCount = jobs.reduce(0) { $0 + $1.rowCount }
        let rows: [Double]
        if jobs.count == 1 {
            rows = jobs[0].rows
        } else {
            var combined: [Double] = []
            combined.reserveCapacity(rowCount * forest.featureCount)
            for job in jobs { combined.append(contentsOf: job.rows) }
            rows = combined
        }
        let batch = forest.predict(rows: rows, rowCount: rowCount, threads: 2)
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        metrics.recordBatch(rows: rowCount, requests: jobs.count, nanoseconds: elapsed)
        var offset = 0
        for job in jobs {
            job.completion(batch, offset..<(offset + job.rowCount))
            offset += job.rowCount
        }
    }
}
