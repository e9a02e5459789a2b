/// Why one attempt against a backend did not produce an answer, in policy terms.
///
/// The gateway maps transport errors and upstream statuses onto these cases; `fallback_on`
/// and `retry.on` are sets of them (``FailureSet``).
public enum BackendFailure: Sendable, Hashable {
    /// The upstream answered with this HTTP status.
    case status(Int)
    /// No (complete) answer within the backend's timeout.
    case timeout
    /// The connection could not be established (refused, DNS, TLS handshake).
    case connectError
    /// Anything else: a malformed answer, a dropped connection, a cancelled request.
    /// No policy setting names it, so it never triggers a retry or a fallback.
    case other
}
