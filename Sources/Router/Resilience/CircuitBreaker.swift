/// The circuit breaker of one backend replica, as a value-type state machine with the
/// time passed in, so every transition can be tested without waiting.
///
/// - closed: requests flow; `failureThreshold` consecutive failures open the circuit.
/// - open: requests are refused until `cooldownSeconds` have passed since it opened.
/// - half-open: up to `halfOpenProbes` trial requests at once; a success closes the
///   circuit, a failure opens it again for another cooldown.
///
/// Outcomes reported while open are ignored: they belong to requests let through before
/// the circuit opened and say nothing about the replica now. A probe whose outcome is
/// never reported (its task was cancelled) frees its slot after one cooldown, so the
/// breaker cannot stay half-open forever.
public struct CircuitBreaker: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, Encodable {
        case closed
        case open
        case halfOpen = "half_open"
    }

    /// Thresholds; may change on a policy reload without resetting the state.
    public var config: CircuitBreakerConfig
    /// Where the machine is now.
    public private(set) var state: State = .closed
    /// Failures in a row while closed.
    public private(set) var consecutiveFailures = 0
    /// When the circuit last opened; `nil` while it has never opened.
    public private(set) var openedAt: Double?
    private var probesInFlight = 0
    private var lastProbeAt = 0.0

    public init(config: CircuitBreakerConfig = CircuitBreakerConfig()) {
        self.config = config
    }

    /// Whether a request may go to the replica now. In the half-open state a `true`
    /// takes a probe slot, so call this only when the request will really be sent.
    public mutating func allowRequest(now: Double) -> Bool {
        switch state {
        case .closed:
            return true
        case .open:
            guard let openedAt, now >= openedAt + config.cooldownSeconds else { return false }
            state = .halfOpen
            probesInFlight = 0
            return takeProbe(now: now)
        case .halfOpen:
            if probesInFlight >= max(config.halfOpenProbes, 1), now >= lastProbeAt + config.cooldownSeconds {
                probesInFlight = 0
            }
            return takeProbe(now: now)
        }
    }

    /// The replica answered.
    public mutating func recordSuccess(now: Double) {
        switch state {
        case .closed, .halfOpen:
            state = .closed
            consecutiveFailures = 0
            probesInFlight = 0
        case .open:
            break
        }
    }

    /// The replica failed in a way that says something about its health.
    public mutating func recordFailure(now: Double) {
        switch state {
        case .closed:
            consecutiveFailures += 1
            if consecutiveFailures >= max(config.failureThreshold, 1) { open(now: now) }
        case .halfOpen:
            open(now: now)
        case .open:
            break
        }
    }

    private mutating func takeProbe(now: Double) -> Bool {
        guard probesInFlight < max(config.halfOpenProbes, 1) else { return false }
        probesInFlight += 1
        lastProbeAt = now
        return true
    }

    private mutating func open(now: Double) {
        state = .open
        openedAt = now
        consecutiveFailures = 0
        probesInFlight = 0
    }
}
