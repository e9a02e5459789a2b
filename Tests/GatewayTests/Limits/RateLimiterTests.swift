import Foundation
import Testing

@testable import Gateway

@Suite struct RateLimiterTests {
    let window = RateWindow(limit: 60)  // one a second, bursts of 60

    @Test func aBurstUpToTheLimitThenOnePerInterval() {
        let limiter = RateLimiter()
        let now = 1000.0
        for i in 0..<60 {
            guard case .admitted(_, let status) = limiter.admit(key: "k", cost: 1, window: window, now: now) else {
                Issue.record("request \(i) refused")
                return
            }
            #expect(status.remaining == 59 - i)
        }
        guard case .refused(let retry, let status) = limiter.admit(key: "k", cost: 1, window: window, now: now) else {
            Issue.record("the 61st must be refused")
            return
        }
        #expect(status.remaining == 0)
        #expect(abs((retry ?? 0) - 1) < 1e-9, "one interval until the next unit")
        #expect(abs(status.resetSeconds - 60) < 1e-9)
        // Just before the interval: still refused; at it: admitted.
        if case .admitted = limiter.admit(key: "k", cost: 1, window: window, now: now + 0.999) {
            Issue.record("admitted early")
        }
        if case .refused = limiter.admit(key: "k", cost: 1, window: window, now: now + 1.0) {
            Issue.record("refused at the interval")
        }
        // Another key is untouched.
        #expect(limiter.status(key: "other", window: window, now: now).remaining == 60)
    }

    @Test func tokensAdmitThePromptAndChargeTheCompletionAfter() {
        let limiter = RateLimiter()
        let tpm = RateWindow(limit: 1000)
        let now = 0.0
        guard case .admitted = limiter.admit(key: "t", cost: 400, window: tpm, now: now) else {
            Issue.record("prompt refused")
            return
        }
        limiter.charge(key: "t", cost: 700, window: tpm, now: now)  // the completion, settled: 1100 > 1000
        #expect(limiter.status(key: "t", window: tpm, now: now).remaining == 0)
        guard case .refused(let retry, _) = limiter.admit(key: "t", cost: 100, window: tpm, now: now) else {
            Issue.record("a key in debt must wait")
            return
        }
        // 1100 used + 100 asked - 1000 allowed = 200 tokens of 0.06 s each.
        #expect(abs((retry ?? 0) - 12) < 1e-6)
        // A cost larger than the whole window can never be admitted.
        guard case .refused(nil, _) = limiter.admit(key: "fresh", cost: 1001, window: tpm, now: now) else {
            Issue.record("a request over the whole limit must say it never fits")
            return
        }
    }

    @Test func refundsGiveUnitsBackAndTheWindowRefills() {
        let limiter = RateLimiter()
        _ = limiter.admit(key: "r", cost: 30, window: window, now: 0)
        limiter.refund(key: "r", cost: 20, window: window, now: 0)
        #expect(limiter.status(key: "r", window: window, now: 0).remaining == 50)
        #expect(limiter.status(key: "r", window: window, now: 10).remaining == 60)
        limiter.prune(now: 10)
        #expect(limiter.status(key: "r", window: window, now: 10).remaining == 60)
    }

    @Test func concurrentRequestsNeverOvershoot() async {
        let limiter = RateLimiter(shardCount: 4)
        let window = RateWindow(limit: 50)
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    if case .admitted = limiter.admit(key: "shared", cost: 1, window: window, now: 5) { return true }
                    return false
                }
            }
            var count = 0
            for await ok in group where ok { count += 1 }
            return count
        }
        #expect(admitted == 50)
    }
}
