/// How often a failed attempt is repeated on the same backend replica before the route
/// moves on (`retry = { ... }` in a route).
///
/// Delays use exponential backoff with full jitter (a uniform draw between zero and the
/// capped exponential step), which spreads the retries of many clients that failed at the
/// same moment instead of having them return together.
public struct RetryPolicy: Sendable, Hashable {
    /// Retries after the first attempt; 0 (the default) means one attempt only.
    /// Retrying is opt-in because a non-idempotent upstream would see a request twice.
    public var attempts: Int
    /// Seconds: the cap of the first retry's delay (`backoff_ms`). Default 0.1.
    public var baseBackoff: Double
    /// Seconds: no delay is ever longer (`max_backoff_ms`). Default 2.
    public var maxBackoff: Double
    /// Failures worth a retry (`on`). Default ``FailureSet/defaultRetry``: 502, 503, 504
    /// and connect errors.
    public var retryOn: FailureSet

    public init(
        attempts: Int = 0,
        baseBackoff: Double = 0.1,
        maxBackoff: Double = 2,
        retryOn: FailureSet = .defaultRetry
    ) {
        self.attempts = attempts
        self.baseBackoff = baseBackoff
        self.maxBackoff = maxBackoff
        self.retryOn = retryOn
    }

    /// Seconds to wait before retry number `n` (1 for the first retry): uniform in
    /// `0...min(maxBackoff, baseBackoff * 2^(n-1))`.
    public func delay<R: RandomNumberGenerator>(forRetry n: Int, using rng: inout R) -> Double {
        let cap = ceiling(forRetry: n)
        guard cap > 0 else { return 0 }
        return Double.random(in: 0...cap, using: &rng)
    }

    /// The upper bound of ``delay(forRetry:using:)`` for retry `n`.
    public func ceiling(forRetry n: Int) -> Double {
        // 2^62 already exceeds any sane cap; clamping the doublings keeps the shift defined.
        let doublings = UInt64(min(max(n - 1, 0), 62))
        return max(0, min(maxBackoff, baseBackoff * Double(UInt64(1) << doublings)))
    }
}

extension RetryPolicy: Encodable {
    enum CodingKeys: String, CodingKey {
        case attempts
        case backoffMilliseconds = "backoff_ms"
        case maxBackoffMilliseconds = "max_backoff_ms"
        case on
    }

    /// Encodes in the policy file's units (milliseconds).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(baseBackoff * 1000, forKey: .backoffMilliseconds)
        try container.encode(maxBackoff * 1000, forKey: .maxBackoffMilliseconds)
        try container.encode(retryOn, forKey: .on)
    }
}
