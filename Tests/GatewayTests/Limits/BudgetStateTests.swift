import Foundation
import Testing

@testable import Gateway

@Suite struct BudgetStateTests {
    /// 2026-12-01 12:00:00 UTC, a Tuesday.
    static let noon = 1_796_126_400.0

    @Test func reservationsCountUntilSettledAndTheRestIsRefunded() throws {
        var budget = BudgetState(limit: 1.0, period: .day, now: Self.noon)
        try budget.reserve(0.4, now: Self.noon)
        try budget.reserve(0.4, now: Self.noon)
        #expect(throws: BudgetState.Refusal.self) { try budget.reserve(0.4, now: Self.noon) }
        budget.settle(reserved: 0.4, actual: 0.1, now: Self.noon)  // the real cost was lower
        #expect(abs(budget.committed - 0.5) < 1e-12)
        try budget.reserve(0.4, now: Self.noon)
        budget.release(0.4)  // that request failed
        #expect(abs(budget.remaining - 0.5) < 1e-12)
    }

    @Test func concurrentWorstCasesNeverOvershoot() {
        var budget = BudgetState(limit: 5.0, period: .total, now: 0)
        var admitted = 0
        for _ in 0..<200 {
            if (try? budget.reserve(0.1, now: 0)) != nil { admitted += 1 }
        }
        #expect(admitted == 50)
    }

    @Test func calendarPeriodsResetAtUTCBoundariesAndSayWhen() throws {
        var day = BudgetState(limit: 1, period: .day, now: Self.noon)
        try day.reserve(1, now: Self.noon)
        day.settle(reserved: 1, actual: 1, now: Self.noon)
        do {
            try day.reserve(0.01, now: Self.noon + 3600)
            Issue.record("spent out")
        } catch .exceeded(_, _, _, let resetsAt) {
            #expect(resetsAt == Self.noon + 12 * 3600, "midnight UTC")
        }
        try day.reserve(0.5, now: Self.noon + 12 * 3600)  // the next day
        #expect(day.spent == 0)

        #expect(BudgetPeriod.week.periodStart(containing: Self.noon) == Self.noon - 36 * 3600, "Monday 00:00")
        #expect(BudgetPeriod.month.periodStart(containing: Self.noon) == Self.noon - 12 * 3600, "the 1st")
        #expect(BudgetPeriod.month.periodEnd(containing: Self.noon) == Self.noon + (30 * 24 + 12) * 3600)
    }

    @Test func rollingWindowsForgetOldSpend() throws {
        var budget = BudgetState(limit: 1, period: .rollingDay, now: 0)
        try budget.reserve(0.6, now: 0)
        budget.settle(reserved: 0.6, actual: 0.6, now: 0)
        try budget.reserve(0.4, now: 3600)
        budget.settle(reserved: 0.4, actual: 0.4, now: 3600)
        do {
            try budget.reserve(0.5, now: 7200)
            Issue.record("full")
        } catch .exceeded(_, _, _, let resetsAt) {
            #expect(resetsAt == 86_400, "when the first 0.6 leaves the window")
        }
        try budget.reserve(0.5, now: 86_401)
        #expect(abs(budget.spent - 0.4) < 1e-12)
    }

    @Test func restoredSpendCountsOnlyInsideThePeriod() {
        var budget = BudgetState(limit: 10, period: .day, now: Self.noon)
        budget.restore(amount: 2, at: Self.noon - 3600, now: Self.noon)
        budget.restore(amount: 5, at: Self.noon - 86_400, now: Self.noon)  // yesterday
        #expect(budget.spent == 2)
        #expect(budget.reserved == 0)
    }

    @Test func aLongRollingHistoryLeavesTheWindowExactly() throws {
        var budget = BudgetState(limit: 1_000_000, period: .rollingDay, now: 0)
        // One settlement a minute for three days: the window always holds the last 1,440.
        for minute in 0..<(3 * 1440) {
            let now = Double(minute) * 60
            try budget.reserve(1, now: now)
            budget.settle(reserved: 1, actual: 1, now: now)
            #expect(budget.spent == Double(min(minute + 1, 1440)))
        }
        #expect(budget.history.count == 1440)
        budget.advance(to: 10 * 86_400)
        #expect(budget.spent == 0 && budget.history.isEmpty)
    }
}
