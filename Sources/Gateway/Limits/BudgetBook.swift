import Synchronization

/// Every budget's books in memory, behind one lock, rebuilt lazily from the durable ledger: the
/// first request that touches a budget reads its period's settled spend back, so a restart (or a
/// crash) resumes exactly where the ledger stands and reservations in flight are simply gone.
final class BudgetBook: Sendable {
    struct ID: Sendable, Hashable {
        var subject: String
        var limitUSD: Double
        var period: BudgetPeriod

        /// "key:vk_abc:day" or "route:default:rolling-week".
        var name: String { subject + ":" + period.storageName }
    }

    /// What one request holds on one budget until it settles or is released.
    struct Hold: Sendable, Hashable {
        var id: ID
        var amount: Double
    }

    struct Refusal: Error, Sendable, Hashable {
        var id: ID
        var spent: Double
        var reserved: Double
        var resetsAt: Double?
    }

    struct Status: Sendable, Hashable {
        var id: ID
        var spent: Double
        var reserved: Double
        var remaining: Double
        var resetsAt: Double?
        var softThreshold: Double?
    }

    private struct Entry {
        var budget: BudgetState
        var softThreshold: Double?
    }

    private let entries = Mutex<[ID: Entry]>([:])
    private let ledger: SpendLedger?

    init(ledger: SpendLedger?) {
        self.ledger = ledger
    }

    /// Reserves `amount` on every budget of `subjects`, all or nothing.
    func reserve(_ subjects: [LimitSubject], amount: Double, now: Double) -> Result<[Hold], Refusal> {
        entries.withLock { entries in
            var holds: [Hold] = []
            for subject in subjects {
                for spec in subject.budgets {
                    let id = ID(subject: subject.name, limitUSD: spec.limitUSD, period: spec.period)
                    var entry = entries[id] ?? load(id, subject: subject, now: now)
                    entry.softThreshold = subject.softThreshold
                    do {
                        // A free request (a local engine at no price) passes even a spent budget.
                        if amount > 0 { try entry.budget.reserve(amount, now: now) }
                        entries[id] = entry
                        holds.append(Hold(id: id, amount: amount > 0 ? amount : 0))
                    } catch {
                        entries[id] = entry
                        for hold in holds { entries[hold.id]?.budget.release(hold.amount) }
                        let budget = entry.budget
                        return .failure(
                            Refusal(
                                id: id, spent: budget.spent, reserved: budget.reserved,
                                resetsAt: budget.resetTime(now: now, needing: amount)))
                    }
                }
            }
            return .success(holds)
        }
    }

    /// Books `actual` against each held budget (the ledger row is already durable).
    /// Returns the budgets past their soft threshold, for the alert metric.
    @discardableResult
    func settle(_ holds: [Hold], actual: Double, now: Double) -> [ID] {
        entries.withLock { entries in
            var alerts: [ID] = []
            for hold in holds {
                guard var entry = entries[hold.id] else { continue }
                entry.budget.settle(reserved: hold.amount, actual: actual, now: now)
                entries[hold.id] = entry
                if let threshold = entry.softThreshold, entry.budget.spent >= threshold * entry.budget.limit {
                    alerts.append(hold.id)
                }
            }
            return alerts
        }
    }

    func release(_ holds: [Hold]) {
        guard !holds.isEmpty else { return }
        entries.withLock { entries in
            for hold in holds { entries[hold.id]?.budget.release(hold.amount) }
        }
    }

    /// The books of every budget `subject` has.
    func status(_ subject: LimitSubject, now: Double) -> [Status] {
        entries.withLock { entries in
            subject.budgets.map { spec in
                let id = ID(subject: subject.name, limitUSD: spec.limitUSD, period: spec.period)
                var entry = entries[id] ?? load(id, subject: subject, now: now)
                entry.softThreshold = subject.softThreshold
                entry.budget.advance(to: now)
                entries[id] = entry
                return Self.status(id, entry, now: now)
            }
        }
    }

    /// Zeroes the settled spend of every budget of `subject` (reservations in flight stay).
    /// The reset is written to the ledger first, so it survives a restart.
    func reset(_ subject: LimitSubject, now: Double) throws {
        try ledger?.recordReset(subject: subject.name, at: now)
        entries.withLock { entries in
            for id in entries.keys where id.subject == subject.name {
                entries[id]?.budget.clearSpend()
            }
        }
    }

    private static func status(_ id: ID, _ entry: Entry, now: Double) -> Status {
        let budget = entry.budget
        return Status(
            id: id, spent: budget.spent, reserved: budget.reserved, remaining: budget.remaining,
            resetsAt: budget.resetTime(now: now, needing: budget.limit), softThreshold: entry.softThreshold)
    }

    /// A budget's books as the ledger has them: spend since its period began (or within its
    /// rolling window) and after the subject's last reset.
    private func load(_ id: ID, subject: LimitSubject, now: Double) -> Entry {
        var budget = BudgetState(limit: id.limitUSD, period: id.period, now: now)
        guard let ledger else { return Entry(budget: budget) }
        var since = 0.0
        if let start = id.period.periodStart(containing: now) { since = start }
        if let window = id.period.rollingSeconds { since = now - window }
        do {
            if let reset = try ledger.lastReset(subject: subject.name) { since = max(since, reset) }
            for (time, amount) in try ledger.spend(column: subject.ledgerColumn, value: subject.id, since: since) {
                budget.restore(amount: amount, at: time, now: now)
            }
        } catch {
            // An unreadable ledger must not stop traffic; the books start from zero.
        }
        return Entry(budget: budget)
    }
}
