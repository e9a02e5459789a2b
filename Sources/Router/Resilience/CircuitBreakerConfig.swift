/// When a backend replica's circuit opens and how it recovers (`circuit_breaker` in a
/// backend's policy).
public struct CircuitBreakerConfig: Sendable, Hashable {
    /// Consecutive failures that open the circuit. Default 5: enough to ride out a blip,
    /// few enough that a dead replica stops eating requests within a second or two.
    public var failureThreshold: Int
    /// Seconds the circuit stays open before trial requests are let through. Default 30.
    public var cooldownSeconds: Double
    /// Trial requests allowed at once while half-open. Default 1.
    public var halfOpenProbes: Int

    public init(failureThreshold: Int = 5, cooldownSeconds: Double = 30, halfOpenProbes: Int = 1) {
        self.failureThreshold = failureThreshold
        self.cooldownSeconds = cooldownSeconds
        self.halfOpenProbes = halfOpenProbes
    }
}

extension CircuitBreakerConfig: Encodable {
    enum CodingKeys: String, CodingKey {
        case failureThreshold = "failure_threshold"
        case cooldownSeconds = "cooldown_seconds"
        case halfOpenProbes = "half_open_probes"
    }
}
