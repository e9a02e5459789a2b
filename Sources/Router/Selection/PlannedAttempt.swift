/// One step of a request's plan: send it to this replica of this backend.
public struct PlannedAttempt: Sendable, Hashable {
    /// The backend, with its key, timeouts and breaker settings.
    public var backend: BackendPolicy
    /// The replica's base URL (ending in `/v1`). Empty only for a backend that is not
    /// configured, whose ``BackendPolicy/unconfiguredReason`` says what to set.
    public var replica: String
    /// Whether the backend is one of the route's fallbacks rather than a primary.
    public var isFallback: Bool

    public init(backend: BackendPolicy, replica: String, isFallback: Bool) {
        self.backend = backend
        self.replica = replica
        self.isFallback = isFallback
    }
}
