import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LocalModels
import Synchronization
import Testing

@testable import Gateway

@Suite struct MicroBatcherTests {
    let served = TabularFixtures.served()

    /// What a completion saw: the batch's size and this job's answers.
    final class Results: Sendable {
        let seen = Mutex<[Int: (batchRows: Int, labels: [Int], values: [Double])]>([:])
        func record(_ job: Int, _ batch: ForestBatch, _ range: Range<Int>) {
            let labels = Array(batch.labels[range])
            let values = range.flatMap { Array(batch.values(at: $0)) }
            seen.withLock { $0[job] = (batch.rowCount, labels, values) }
        }
    }

    @Test func requestsQueuedWhileTheEngineIsBusyShareOneBatch() throws {
        let batcher = served.batcher
        let results = Results()
        let engineBusy = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        try batcher.submit(rows: [1, 1], rowCount: 1) { batch, range in
            results.record(0, batch, range)
            engineBusy.signal()
            release.wait()
            done.signal()
        }
        engineBusy.wait()
        let rows: [[Double]] = [[-1, 0], [1, -1], [1, 2], [.nan, 5], [3, .nan]]
        for (index, row) in rows.enumerated() {
            try batcher.submit(rows: row, rowCount: 1) { batch, range in
                results.record(index + 1, batch, range)
                done.signal()
            }
        }
        release.signal()
        for _ in 0...rows.count { done.wait() }
        let seen = results.seen.withLock { $0 }
        #expect(seen[0]?.batchRows == 1)
        for (index, row) in rows.enumerated() {
            let answer = try #require(seen[index + 1])
            #expect(answer.batchRows == rows.count, "queued jobs are evaluated together")
            guard case .classification(let label, let probabilities) = served.forest.predict(row: row) else {
                Issue.record("not a classifier")
                return
            }
            #expect(answer.labels == [label])
            #expect(answer.values == probabilities)
        }
    }

    @Test func cheapWorkRunsOnTheCallerOnlyWhileTheEngineIsIdle() throws {
        let inline = TabularFixtures.served(inlineMaxMicros: 1000).batcher
        let caller = pthread_self()
        let ranOn = Mutex<[Bool]>([])
        try inline.submit(rows: [1, 2], rowCount: 1) { _, _ in ranOn.withLock { $0.append(pthread_equal(pthread_self(), caller) != 0) } }
        #expect(ranOn.withLock { $0 } == [true], "an idle engine lets one cheap row run inline")

        // Block the engine with a job too large to run inline; a cheap row must then queue.
        let engineBusy = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        try inline.submit(rows: [Double](repeating: 1, count: 2 * 100), rowCount: 100) { _, _ in
            engineBusy.signal()
            release.wait()
        }
        engineBusy.wait()
        try inline.submit(rows: [3, 4], rowCount: 1) { _, _ in
            ranOn.withLock { $0.append(pthread_equal(pthread_self(), caller) != 0) }
            done.signal()
        }
        #expect(ranOn.withLock { $0 }.count == 1, "queued behind the busy engine, not run inline")
        release.signal()
        done.wait()
        #expect(ranOn.withLock { $0 } == [true, false])
    }

    @Test func aFullQueueRefusesMoreRowsAndARetiredBatcherRunsInline() throws {
        let batcher = served.batcher
        let engineBusy = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        try batcher.submit(rows: [0, 0], rowCount: 1) { _, _ in
            engineBusy.signal()
            release.wait()
            done.signal()
        }
        engineBusy.wait()
        let big = batcher.maxQueuedRows
        try batcher.submit(rows: [Double](repeating: 1, count: big * 2), rowCount: big) { _, _ in done.signal() }
        #expect(throws: MicroBatcher.Overloaded.self) {
            try batcher.submit(rows: [0, 0], rowCount: 1) { _, _ in }
        }
        release.signal()
        done.wait()
        done.wait()
        batcher.retire()
        // Once the thread has stopped, a late submission is answered before submit returns.
        var answeredInline = false
        for _ in 0..<200 where !answeredInline {
            let flag = Mutex(false)
            try batcher.submit(rows: [1, 2], rowCount: 1) { _, _ in flag.withLock { $0 = true } }
            answeredInline = flag.withLock { $0 }
            if !answeredInline { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(answeredInline)
    }
}
