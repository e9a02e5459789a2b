import NIOConcurrencyHelpers
import Testing

@testable import Gateway

@Suite struct DiskWriteTrackerTests {
    @Test func waitingCoversEveryWriteInFlight() async throws {
        let tracker = DiskWriteTracker()
        let gate = NIOLockedValueBox(false)
        let written = NIOLockedValueBox(0)
        for _ in 0..<3 {
            tracker.run {
                while !gate.withLockedValue({ $0 }) { try? await Task.sleep(nanoseconds: 1_000_000) }
                written.withLockedValue { $0 += 1 }
            }
        }
        #expect(tracker.inFlight == 3)
        let waiter = Task { await tracker.waitForWritesInFlight() }
        try await Task.sleep(nanoseconds: 20_000_000)
        #expect(written.withLockedValue { $0 } == 0)
        gate.withLockedValue { $0 = true }
        await waiter.value
        // The waiter returned only once all three writes were done.
        #expect(written.withLockedValue { $0 } == 3)
        try await Task.sleep(nanoseconds: 5_000_000)
        #expect(tracker.inFlight == 0)
    }
}
