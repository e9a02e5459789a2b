import Testing

@testable import Router

@Suite struct RetryPolicyTests {
    @Test func jitteredDelayStaysWithinTheCappedExponentialStep() {
        var rng = SeededGenerator(seed: 21)
        let policy = RetryPolicy(attempts: 5, baseBackoff: 0.1, maxBackoff: 1)
        let ceilings = [1: 0.1, 2: 0.2, 3: 0.4, 4: 0.8, 5: 1.0, 9: 1.0]
        for (retry, ceiling) in ceilings {
            #expect(policy.ceiling(forRetry: retry) == ceiling)
            var maximum = 0.0
            var total = 0.0
            for _ in 0..<2_000 {
                let delay = policy.delay(forRetry: retry, using: &rng)
                #expect(delay >= 0 && delay <= ceiling)
                maximum = max(maximum, delay)
                total += delay
            }
            // Full jitter: uniform over the whole step, not a fixed value.
            #expect(maximum > ceiling * 0.95)
            #expect(abs(total / 2_000 - ceiling / 2) < ceiling * 0.05)
        }
    }

    @Test func hugeRetryNumbersDoNotOverflow() {
        var rng = SeededGenerator(seed: 2)
        let policy = RetryPolicy(baseBackoff: 0.5, maxBackoff: 3)
        #expect(policy.ceiling(forRetry: 10_000) == 3)
        #expect(policy.ceiling(forRetry: 0) == 0.5)
        #expect(policy.delay(forRetry: .max, using: &rng) <= 3)
    }

    @Test func zeroBackoffMeansNoWait() {
        var rng = SeededGenerator(seed: 3)
        #expect(RetryPolicy(baseBackoff: 0, maxBackoff: 2).delay(forRetry: 4, using: &rng) == 0)
    }

    @Test func defaultsAreNoRetriesOnTransientFailures() {
        let policy = RetryPolicy()
        #expect(policy.attempts == 0)
        #expect(policy.baseBackoff == 0.1)
        #expect(policy.maxBackoff == 2)
        #expect(policy.retryOn.contains(.status(503)))
        #expect(policy.retryOn.contains(.connectError))
        #expect(!policy.retryOn.contains(.timeout))
        #expect(!policy.retryOn.contains(.status(429)))
    }
}
