import CTransformerKernels

/// A fixed set of engine threads (the caller counts as one). Work is split into many small chunks taken
/// dynamically from an atomic counter, so a descheduled thread delays only the chunk it holds, never the rest
/// (spinning barriers collapse on 2 cores when a thread is descheduled: seen with llama.cpp, 2 threads slower
/// than 1 under load). Idle threads sleep (condition variable) after at most a short spin (~0.2 ms).
///
/// Calls from several threads are serialised; a `parallelFor` from inside a body runs inline on that thread.
public final class EngineThreadPool: @unchecked Sendable {
    private let handle: OpaquePointer?
    public let threadCount: Int

    public convenience init(threads: Int) {
        self.init(threads: threads, idleSpinNanoseconds: 200_000)
    }

    /// `idleSpinNanoseconds`: how long an idle worker polls for the next run before it sleeps (tests use 0 to
    /// exercise the wake-up path on every run).
    init(threads: Int, idleSpinNanoseconds: Int) {
        precondition(threads >= 1, "EngineThreadPool needs at least one thread, got \(threads)")
        handle = tk_pool_create_spinning(Int32(clamping: threads), Int64(idleSpinNanoseconds))
        threadCount = handle == nil ? 1 : Int(tk_pool_threads(handle))
    }

    deinit {
        tk_pool_destroy(handle)
    }

    /// Calls body(i) for every i in 0..<count, spread over the threads; returns when all are done.
    public func parallelFor(count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        guard let handle, threadCount > 1, count > 1 else {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            var task = escapable
            withUnsafeMutablePointer(to: &task) { context in
                tk_pool_run(
                    handle,
                    Int64(count),
                    { context, index in
                        context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(index))
                    },
                    context
                )
            }
        }
    }

    /// Stops the worker threads (after a run in progress); later `parallelFor` calls run on the caller alone.
    public func shutdown() {
        if let handle { tk_pool_shutdown(handle) }
    }
}
