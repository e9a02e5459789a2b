import Testing

@testable import Router

@Suite struct CircuitBreakerTests {
    private static let config = CircuitBreakerConfig(failureThreshold: 3, cooldownSeconds: 10, halfOpenProbes: 2)

    @Test func opensAfterConsecutiveFailuresOnly() {
        var breaker = CircuitBreaker(config: Self.config)
        breaker.recordFailure(now: 1)
        breaker.recordFailure(now: 2)
        breaker.recordSuccess(now: 3)  // resets the run
        breaker.recordFailure(now: 4)
        breaker.recordFailure(now: 5)
        #expect(breaker.state == .closed)
        #expect(breaker.consecutiveFailures == 2)
        #expect(allow(&breaker, at: 5))
        breaker.recordFailure(now: 6)
        #expect(breaker.state == .open)
        #expect(breaker.openedAt == 6)
    }

    @Test func openRefusesUntilTheCooldownEnds() {
        var breaker = Self.opened(at: 100)
        #expect(!allow(&breaker, at: 100))
        #expect(!allow(&breaker, at: 109.99))
        #expect(breaker.state == .open)
        #expect(allow(&breaker, at: 110))
        #expect(breaker.state == .halfOpen)
    }

    @Test func halfOpenAllowsOnlyTheProbes() {
        var breaker = Self.opened(at: 0)
        #expect(allow(&breaker, at: 10))
        #expect(allow(&breaker, at: 10.5))
        #expect(!allow(&breaker, at: 11))
        #expect(breaker.state == .halfOpen)
    }

    @Test func probeSuccessCloses() {
        var breaker = Self.opened(at: 0)
        #expect(allow(&breaker, at: 10))
        breaker.recordSuccess(now: 10.2)
        #expect(breaker.state == .closed)
        #expect(breaker.consecutiveFailures == 0)
        #expect(allow(&breaker, at: 10.3))
    }

    @Test func probeFailureReopensForAnotherCooldown() {
        var breaker = Self.opened(at: 0)
        #expect(allow(&breaker, at: 12))
        breaker.recordFailure(now: 13)
        #expect(breaker.state == .open)
        #expect(breaker.openedAt == 13)
        #expect(!allow(&breaker, at: 22))
        #expect(allow(&breaker, at: 23))
    }

    @Test func lateOutcomesWhileOpenAreIgnored() {
        var breaker = Self.opened(at: 50)
        breaker.recordSuccess(now: 51)
        breaker.recordFailure(now: 52)
        #expect(breaker.state == .open)
        #expect(breaker.openedAt == 50)
    }

    @Test func lostProbeFreesItsSlotAfterACooldown() {
        var breaker = CircuitBreaker(config: CircuitBreakerConfig(failureThreshold: 1, cooldownSeconds: 5))
        breaker.recordFailure(now: 0)
        #expect(allow(&breaker, at: 5))  // the probe, whose outcome never comes
        #expect(!allow(&breaker, at: 9))
        #expect(allow(&breaker, at: 10))
        #expect(breaker.state == .halfOpen)
    }

    /// `#expect` cannot call a mutating method on its captured value, so the call goes
    /// through this first.
    private func allow(_ breaker: inout CircuitBreaker, at now: Double) -> Bool {
        breaker.allowRequest(now: now)
    }

    private static func opened(at time: Double) -> CircuitBreaker {
        var breaker = CircuitBreaker(config: config)
        for _ in 0..<config.failureThreshold { breaker.recordFailure(now: time) }
        return breaker
    }
}
