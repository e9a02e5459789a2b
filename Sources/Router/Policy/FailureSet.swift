/// A set of ``BackendFailure``s, as written in `fallback_on` and `retry.on`:
/// HTTP statuses plus the words `"timeout"` and `"connect_error"`.
public struct FailureSet: Sendable, Hashable {
    /// Upstream HTTP statuses in the set.
    public var statuses: Set<Int>
    /// Whether ``BackendFailure/timeout`` is in the set.
    public var timeout: Bool
    /// Whether ``BackendFailure/connectError`` is in the set.
    public var connectError: Bool

    public init(statuses: Set<Int> = [], timeout: Bool = false, connectError: Bool = false) {
        self.statuses = statuses
        self.timeout = timeout
        self.connectError = connectError
    }

    /// Nothing: no failure triggers the behaviour.
    public static let none = FailureSet()

    /// The default `fallback_on`: the statuses that say "this backend cannot answer now"
    /// (rate limited, erroring, overloaded), plus timeouts and connection failures.
    /// Client errors such as 400 are left out, since another backend would refuse them too.
    public static let defaultFallback = FailureSet(
        statuses: [429, 500, 502, 503, 504],
        timeout: true,
        connectError: true
    )

    /// The default `retry.on`: failures that are usually transient on the same backend.
    /// Timeouts are left out (retrying one doubles the wait), and so is 429 (a short
    /// backoff rarely outlasts a rate limit; falling back is the better answer).
    public static let defaultRetry = FailureSet(statuses: [502, 503, 504], connectError: true)

    /// Whether `failure` is one of the failures in this set. ``BackendFailure/other`` never is.
    public func contains(_ failure: BackendFailure) -> Bool {
        switch failure {
        case .status(let code): return statuses.contains(code)
        case .timeout: return timeout
        case .connectError: return connectError
        case .other: return false
        }
    }
}

extension FailureSet: Encodable {
    /// Encodes as the policy file writes it: sorted statuses, then the words.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for status in statuses.sorted() { try container.encode(status) }
        if timeout { try container.encode("timeout") }
        if connectError { try container.encode("connect_error") }
    }
}
