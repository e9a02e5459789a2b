import Synchronization

/// The circuit breakers of every backend replica, shared by all requests.
///
/// Breakers are keyed by backend name and replica URL, and live outside the routing table
/// so that a policy reload keeps an open circuit open. Only replicas that have failed
/// hold a breaker; the rest are closed by definition, which keeps the healthy path to a
/// dictionary miss under the lock.
public final class CircuitBreakerRegistry: Sendable {
    /// One replica's breaker, for metrics and `GET /admin/...` views.
    public struct Entry: Sendable, Hashable, Encodable {
        public var backend: String
        public var replica: String
        public var state: CircuitBreaker.State
        public var consecutiveFailures: Int
        public var openedAt: Double?

        enum CodingKeys: String, CodingKey {
            case backend, replica, state
            case consecutiveFailures = "consecutive_failures"
            case openedAt = "opened_at"
        }
    }

    private struct Key: Hashable {
        var backend: String
        var replica: String
    }

    private struct Storage {
        var breakers: [Key: CircuitBreaker] = [:]
        var configs: [String: CircuitBreakerConfig] = [:]
        var replicas: [String: [String]] = [:]
    }

    private let storage: Mutex<Storage>

    /// - Parameter table: where breaker thresholds come from; see ``apply(_:)``.
    public init(table: RoutingTable = .empty) {
        storage = Mutex(Storage())
        apply(table)
    }

    /// Takes the thresholds of a (re)loaded table. Breakers of replicas still in the table
    /// keep their state under the new thresholds; those of removed replicas are dropped.
    /// Call it at start and after every successful reload.
    public func apply(_ table: RoutingTable) {
        storage.withLock { storage in
            storage.configs = table.backends.mapValues(\.circuitBreaker)
            storage.replicas = table.backends.mapValues(\.replicas)
            let known = Set(table.backends.values.flatMap { b in b.replicas.map { Key(backend: b.name, replica: $0) } })
            storage.breakers = storage.breakers.filter { known.contains($0.key) }
            for key in storage.breakers.keys {
                storage.breakers[key]?.config = storage.configs[key.backend] ?? CircuitBreakerConfig()
            }
        }
    }

    /// Whether a request may go to `replica` of `backend` now (see
    /// ``CircuitBreaker/allowRequest(now:)``; a `true` while half-open takes a probe slot).
    public func allow(backend: String, replica: String, now: Double) -> Bool {
        storage.withLock { storage in
            storage.breakers[Key(backend: backend, replica: replica)]?.allowRequest(now: now) ?? true
        }
    }

    /// Reports an attempt's outcome. Report only failures that reflect the replica's
    /// health (5xx, 429, timeouts, connection errors), not the client's own 4xx.
    public func record(backend: String, replica: String, success: Bool, now: Double) {
        storage.withLock { storage in
            let key = Key(backend: backend, replica: replica)
            if success {
                storage.breakers[key]?.recordSuccess(now: now)
                if storage.breakers[key]?.state == .closed { storage.breakers[key] = nil }
            } else {
                let config = storage.configs[backend] ?? CircuitBreakerConfig()
                storage.breakers[key, default: CircuitBreaker(config: config)].recordFailure(now: now)
            }
        }
    }

    /// The state of one replica's breaker.
    public func state(backend: String, replica: String) -> CircuitBreaker.State {
        storage.withLock { $0.breakers[Key(backend: backend, replica: replica)]?.state ?? .closed }
    }

    /// Every replica of the applied table plus any other breaker held, sorted by backend
    /// then replica.
    public func snapshot() -> [Entry] {
        storage.withLock { storage in
            var keys = Set(storage.breakers.keys)
            for (backend, replicas) in storage.replicas {
                for replica in replicas { keys.insert(Key(backend: backend, replica: replica)) }
            }
            return keys.map { key in
                let breaker = storage.breakers[key] ?? CircuitBreaker()
                return Entry(
                    backend: key.backend,
                    replica: key.replica,
                    state: breaker.state,
                    consecutiveFailures: breaker.consecutiveFailures,
                    openedAt: breaker.openedAt
                )
            }
            .sorted { ($0.backend, $0.replica) < ($1.backend, $1.replica) }
        }
    }
}
