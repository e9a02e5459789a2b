import Foundation
import Testing

@testable import Gateway

@Suite struct BudgetBookTests {
    static func subject(_ kind: LimitSubject.Kind = .key, _ id: String = "vk_a", usd: Double, period: BudgetPeriod = .total, soft: Double? = nil)
        -> LimitSubject
    {
        LimitSubject(
            kind: kind, id: id, requestsPerMinute: nil, tokensPerMinute: nil,
            budgets: [VirtualKey.BudgetSpec(limitUSD: usd, period: period)], softThreshold: soft)
    }

    static func row(_ i: Int, cost: Double, time: Double, key: String = "vk_a", route: String = "chat") -> SpendRecord {
        SpendRecord(
            time: time, requestID: "req_\(i)", keyID: key, tenant: "acme", route: route, model: "m", costUSD: cost,
            promptTokens: 1, completionTokens: 1)
    }

    @Test func reservesAllOrNothingAcrossSubjects() throws {
        let book = BudgetBook(ledger: nil)
        let key = Self.subject(usd: 10)
        let route = Self.subject(.route, "chat", usd: 1)
        guard case .success(let first) = book.reserve([key, route], amount: 0.75, now: 0) else {
            Issue.record("first reservation refused")
            return
        }
        #expect(first.count == 2)
        // The route's budget cannot take another 0.75; the key's must not keep it either.
        guard case .failure(let refusal) = book.reserve([key, route], amount: 0.75, now: 0) else {
            Issue.record("overshooting reservation admitted")
            return
        }
        #expect(refusal.id.subject == "route:chat")
        #expect(refusal.reserved == 0.75)
        #expect(book.status(key, now: 0)[0].reserved == 0.75)
        book.settle(first, actual: 0.25, now: 1)
        #expect(book.status(key, now: 1)[0].spent == 0.25)
        #expect(book.status(key, now: 1)[0].reserved == 0)
        #expect(book.status(route, now: 1)[0].remaining == 0.75)
    }

    @Test func manyConcurrentReservationsNeverPassTheLimit() async {
        let book = BudgetBook(ledger: nil)
        let key = Self.subject(usd: 50)
        let admitted = await withTaskGroup(of: Bool.self, returning: Int.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    guard case .success(let holds) = book.reserve([key], amount: 1, now: 0) else { return false }
                    book.settle(holds, actual: 1, now: 0)
                    return true
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 50)
        #expect(book.status(key, now: 0)[0].spent == 50)
    }

    @Test func aFreeRequestPassesASpentBudget() {
        let book = BudgetBook(ledger: nil)
        let key = Self.subject(usd: 1)
        if case .success(let holds) = book.reserve([key], amount: 1, now: 0) { book.settle(holds, actual: 1.5, now: 0) }
        #expect(book.status(key, now: 0)[0].spent == 1.5)
        guard case .success = book.reserve([key], amount: 0, now: 0) else {
            Issue.record("a request that costs nothing was refused")
            return
        }
        guard case .failure = book.reserve([key], amount: 0.01, now: 0) else {
            Issue.record("a spent budget admitted a priced request")
            return
        }
    }

    @Test func booksAreRebuiltFromTheLedgerWithinThePeriod() throws {
        let path = try SpendLedgerTests.temporaryPath()
        let ledger = try SpendLedger(path: path)
        let day = 86_400.0
        let now = 20 * day + 3600  // 01:00 UTC on day 20
        try ledger.record(Self.row(1, cost: 2, time: 19 * day + 7200))  // yesterday, within 24 hours
        try ledger.record(Self.row(2, cost: 3, time: 20 * day + 10))  // today
        try ledger.record(Self.row(3, cost: 4, time: 20 * day + 20, key: "vk_other"))
        let book = BudgetBook(ledger: ledger)
        #expect(book.status(Self.subject(usd: 10, period: .day), now: now)[0].spent == 3)
        #expect(book.status(Self.subject(usd: 10, period: .total), now: now)[0].spent == 5)
        #expect(book.status(Self.subject(usd: 10, period: .rollingDay), now: now)[0].spent == 5)
        #expect(book.status(Self.subject(.route, "chat", usd: 100, period: .day), now: now)[0].spent == 7)
    }

    @Test func aResetSurvivesARestart() throws {
        let path = try SpendLedgerTests.temporaryPath()
        let key = Self.subject(usd: 10)
        do {
            let ledger = try SpendLedger(path: path)
            try ledger.record(Self.row(1, cost: 6, time: 100))
            let book = BudgetBook(ledger: ledger)
            #expect(book.status(key, now: 200)[0].spent == 6)
            try book.reset(key, now: 300)
            #expect(book.status(key, now: 301)[0].spent == 0)
            try ledger.record(Self.row(2, cost: 1, time: 400))
            ledger.close()
        }
        let book = BudgetBook(ledger: try SpendLedger(path: path))
        #expect(book.status(key, now: 500)[0].spent == 1)
    }

    @Test func aReleaseFreesTheReservation() {
        let book = BudgetBook(ledger: nil)
        let key = Self.subject(usd: 1)
        guard case .success(let holds) = book.reserve([key], amount: 0.9, now: 0) else {
            Issue.record("refused")
            return
        }
        book.release(holds)
        #expect(book.status(key, now: 0)[0].reserved == 0)
        guard case .success = book.reserve([key], amount: 0.9, now: 0) else {
            Issue.record("a released reservation still counted")
            return
        }
    }

    @Test func settlingPastTheSoftThresholdRaisesAnAlert() {
        let book = BudgetBook(ledger: nil)
        let key = Self.subject(usd: 10, soft: 0.5)
        guard case .success(let a) = book.reserve([key], amount: 4, now: 0) else { return }
        #expect(book.settle(a, actual: 4, now: 0).isEmpty)
        guard case .success(let b) = book.reserve([key], amount: 2, now: 0) else { return }
        let alerts = book.settle(b, actual: 2, now: 0)
        #expect(alerts.map(\.name) == ["key:vk_a:total"])
    }
}
