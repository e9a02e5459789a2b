import NIOCore
import NIOPosix
import Testing

@testable import Gateway

@Suite struct LoopTaskExecutorTests {
    @Test func aTaskAndEveryResumptionRunOnTheConnectionsLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { group.shutdownGracefully { _ in } }
        let loop = group.next()
        let other = group.next()
        let executor = LoopTaskExecutor(loop: loop)
        let onLoop = await Task(executorPreference: executor) { () async -> [Bool] in
            var seen = [loop.inEventLoop]
            // A future completed on another loop resumes the task on its own loop.
            _ = try? await other.scheduleTask(in: .milliseconds(5)) { 1 }.futureResult.get()
            seen.append(loop.inEventLoop)
            try? await Task.sleep(nanoseconds: 1_000_000)
            seen.append(loop.inEventLoop)
            return seen
        }.value
        #expect(onLoop == [true, true, true])
    }
}
