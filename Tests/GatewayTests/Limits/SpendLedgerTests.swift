import Foundation
import Testing

@testable import Gateway

@Suite struct SpendLedgerTests {
    static func temporaryPath() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("ledger.sqlite").path
    }

    static func record(_ i: Int, cost: Double, time: Double, key: String = "k1", tenant: String = "t1") -> SpendRecord {
        SpendRecord(
            time: time, requestID: "req_\(i)", keyID: key, tenant: tenant, route: "chat", model: "m",
            costUSD: cost, promptTokens: 10, completionTokens: 5)
    }

    @Test func committedRowsSurviveReopeningAndSumBySelector() throws {
        let path = try Self.temporaryPath()
        do {
            let ledger = try SpendLedger(path: path)
            try ledger.record(Self.record(1, cost: 0.25, time: 100))
            try ledger.record(Self.record(2, cost: 0.50, time: 200, key: "k2"))
            try ledger.record(Self.record(3, cost: 1.00, time: 300, tenant: "t2"))
            ledger.close()
        }
        let reopened = try SpendLedger(path: path)
        #expect(try reopened.total() == 1.75)
        #expect(try reopened.total(keyID: "k1") == 1.25)
        #expect(try reopened.total(tenant: "t1") == 0.75)
        #expect(try reopened.total(since: 150) == 1.5)
        let rows = try reopened.records(since: 150)
        #expect(rows.map(\.requestID) == ["req_2", "req_3"])
        #expect(rows[0] == Self.record(2, cost: 0.50, time: 200, key: "k2"))
    }

    @Test func concurrentWritersLoseNothing() async throws {
        let ledger = try SpendLedger(path: try Self.temporaryPath())
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<100 {
                group.addTask { try? ledger.record(Self.record(i, cost: 0.01, time: Double(i))) }
            }
        }
        #expect(try ledger.records(since: 0).count == 100)
        #expect(abs(try ledger.total() - 1.0) < 1e-9)
    }

    @Test func budgetsRebuildFromTheLedger() throws {
        let ledger = try SpendLedger(path: try Self.temporaryPath())
        let noon = BudgetStateTests.noon
        try ledger.record(Self.record(1, cost: 0.3, time: noon - 3600))
        try ledger.record(Self.record(2, cost: 0.9, time: noon - 2 * 86_400))
        var budget = BudgetState(limit: 1, period: .day, now: noon)
        for row in try ledger.records(since: noon - 31 * 86_400) where row.keyID == "k1" {
            budget.restore(amount: row.costUSD, at: row.time, now: noon)
        }
        #expect(abs(budget.spent - 0.3) < 1e-12)
    }
}
