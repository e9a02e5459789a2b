import NIOCore

/// Runs a task's jobs on one event loop: a miss started by a connection stays on that
/// connection's loop (where its upstream exchange and its writes happen too), so awaiting the
/// upstream costs no hop to another thread and back.
final class LoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
