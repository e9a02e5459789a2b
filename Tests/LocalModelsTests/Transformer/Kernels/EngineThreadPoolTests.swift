import Synchronization
import Testing

@testable import LocalModels

struct EngineThreadPoolTests {
    /// Counts calls per index; every slot must end at exactly `expected`.
    final class Tally: @unchecked Sendable {
        let counts: UnsafeMutablePointer<Atomic<Int>>
        let count: Int
        init(count: Int) {
            self.count = count
            counts = .allocate(capacity: count)
            for i in 0..<count { (counts + i).initialize(to: Atomic(0)) }
        }
        deinit { counts.deallocate() }
        func hit(_ i: Int) { counts[i].add(1, ordering: .relaxed) }
        func all(equal expected: Int) -> Bool {
            (0..<count).allSatisfy { counts[$0].load(ordering: .relaxed) == expected }
        }
    }

    @Test(arguments: [1, 2, 3, 5])
    func runsEveryIndexExactlyOnce(threads: Int) {
        let pool = EngineThreadPool(threads: threads)
        #expect(pool.threadCount == threads)
        for count in [0, 1, 2, 7, 64, 1000] {
            let tally = Tally(count: max(count, 1))
            pool.parallelFor(count: count) { tally.hit($0) }
            #expect(count == 0 ? tally.all(equal: 0) : tally.all(equal: 1), "\(threads) threads, \(count) indices")
        }
    }

    @Test func concurrentCallersEachGetTheirOwnIndices() async {
        let pool = EngineThreadPool(threads: 2)
        let tallies = (0..<4).map { _ in Tally(count: 500) }
        await withTaskGroup(of: Void.self) { group in
            for tally in tallies {
                group.addTask {
                    for _ in 0..<20 { pool.parallelFor(count: 500) { tally.hit($0) } }
                }
            }
        }
        #expect(tallies.allSatisfy { $0.all(equal: 20) })
    }

    @Test func aNestedCallRunsInline() {
        let pool = EngineThreadPool(threads: 2)
        let tally = Tally(count: 8 * 8)
        pool.parallelFor(count: 8) { outer in
            pool.parallelFor(count: 8) { inner in tally.hit(outer * 8 + inner) }
        }
        #expect(tally.all(equal: 1))
    }

    @Test func afterShutdownTheCallerDoesTheWork() {
        let pool = EngineThreadPool(threads: 3)
        pool.shutdown()
        pool.shutdown()
        let tally = Tally(count: 100)
        pool.parallelFor(count: 100) { tally.hit($0) }
        #expect(tally.all(equal: 1))
    }

    @Test func workersThatSleepBetweenRunsWakeUpForTheNext() {
        // No idle spin: the workers go to sleep after every run, so each run has to wake them.
        let pool = EngineThreadPool(threads: 3, idleSpinNanoseconds: 0)
        let tally = Tally(count: 64)
        for _ in 0..<200 { pool.parallelFor(count: 64) { tally.hit($0) } }
        #expect(tally.all(equal: 200))
    }
}
