import NIOConcurrencyHelpers

/// Disk-tier writes run in the background so that a miss is answered without waiting for
/// SQLite. A purge must not be undone by a write still queued from before it: purges wait
/// for the writes in flight when they start.
final class DiskWriteTracker: Sendable {
    private let state = NIOLockedValueBox(State())

    private struct State {
        var next = 0
        var tasks: [Int: Task<Void, Never>] = [:]
    }

    /// Runs `write` in the background and remembers it until it has finished.
    func run(_ write: @escaping @Sendable () async -> Void) {
        // Created and registered under the lock: the task's own removal, which needs the
        // lock, cannot run before its registration.
        state.withLockedValue { state in
            let id = state.next
            state.next += 1
            state.tasks[id] = Task {
                await write()
                self.state.withLockedValue { _ = $0.tasks.removeValue(forKey: id) }
            }
        }
    }

    /// Waits for every write that is in flight now.
    func waitForWritesInFlight() async {
        let tasks = state.withLockedValue { Array($0.tasks.values) }
        for task in tasks { await task.value }
    }

    var inFlight: Int { state.withLockedValue { $0.tasks.count } }
}
