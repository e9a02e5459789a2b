import NIOCore
import NIOPosix

/// Installs NIO's singleton event-loop group as Swift concurrency's global executor, and
/// remembers whether that worked so the gateway can serve on those same loops.
public enum ExecutorTakeover {
    nonisolated(unsafe) private static var installed = false

    /// Call once, first thing in `main`, before any task starts.
    public static func install() {
        installed = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// The event loops to serve on: the singleton group when it runs Swift concurrency too
    /// (and no thread count was configured), otherwise a group of our own.
    static func eventLoopGroup(threads: Int) -> (group: MultiThreadedEventLoopGroup, owned: Bool) {
        if installed, threads == 0 || threads == NIOSingletons.groupLoopCountSuggestion {
            return (MultiThreadedEventLoopGroup.singleton, false)
        }
        let count = threads > 0 ? threads : System.coreCount
        return (MultiThreadedEventLoopGroup(numberOfThreads: count), true)
    }
}
