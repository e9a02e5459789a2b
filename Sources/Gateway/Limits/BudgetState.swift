/// One USD budget's books: what was spent in the current period and what is reserved by requests
/// in flight. Admission reserves the worst case, so the spend can never pass the limit however
/// many requests run at once; settling books the real cost and frees the rest of the reservation.
///
/// A value type: the caller holds it behind a lock (and, for durability, writes every settled
/// amount to the ledger before the response completes).
struct BudgetState: Sendable {
    let limit: Double
    let period: BudgetPeriod
    /// Spend settled in the current calendar period (or ever, for `total`).
    private(set) var spent: Double = 0
    /// Start of the calendar period `spent` belongs to.
    private(set) var periodStart: Double?
    /// Its end: until then no calendar arithmetic is needed (Foundation's calendar costs
    /// microseconds a call, and every reservation and settlement asks).
    private var periodEnd: Double?
    /// Settled amounts with their times, for rolling periods, oldest first; entries before
    /// `historyHead` have left the window.
    private var entries: [(time: Double, amount: Double)] = []
    private var historyHead = 0
    private(set) var reserved: Double = 0

    init(limit: Double, period: BudgetPeriod, now: Double) {
        self.limit = limit
        self.period = period
        self.periodStart = period.periodStart(containing: now)
        self.periodEnd = period.periodEnd(containing: now)
    }

    /// The settled amounts still inside a rolling window, oldest first.
    var history: ArraySlice<(time: Double, amount: Double)> { entries[historyHead...] }

    enum Refusal: Error, Sendable, Hashable {
        /// `resetsAt`: when enough spend leaves the window (nil for `total`).
        case exceeded(spent: Double, reserved: Double, limit: Double, resetsAt: Double?)
    }

    /// Rolls the period forward (calendar) or drops spend older than the window (rolling).
    mutating func advance(to now: Double) {
        if let window = period.rollingSeconds {
            let cutoff = now - window
            while historyHead < entries.count, entries[historyHead].time <= cutoff {
                spent -= entries[historyHead].amount
                historyHead += 1
            }
            if historyHead == entries.count {
                entries.removeAll(keepingCapacity: true)
                historyHead = 0
                spent = 0  // no rounding drift left behind
            } else if historyHead > 1024, historyHead * 2 > entries.count {
                entries.removeFirst(historyHead)
                historyHead = 0
            }
            return
        }
        if let start = periodStart, let end = periodEnd, now >= start, now < end { return }
        let start = period.periodStart(containing: now)
        periodEnd = period.periodEnd(containing: now)
        guard start != periodStart else { return }
        periodStart = start
        spent = 0
    }

    /// Spend that counts now: settled in the period, plus what requests in flight reserved.
    var committed: Double { spent + reserved }
    var remaining: Double { max(0, limit - committed) }

    /// Reserves `amount` (the request's worst case), or refuses without changing anything.
    mutating func reserve(_ amount: Double, now: Double) throws(Refusal) {
        advance(to: now)
        guard committed + amount <= limit * (1 + 1e-12) else {
            throw .exceeded(spent: spent, reserved: reserved, limit: limit, resetsAt: resetTime(now: now, needing: amount))
        }
        reserved += amount
    }

    /// Books `actual` for a request that reserved `reservedAmount`; the difference is freed.
    /// `actual` may exceed the reservation (usage above the estimate); it is booked all the same.
    mutating func settle(reserved reservedAmount: Double, actual: Double, now: Double) {
        advance(to: now)
        reserved = max(0, reserved - reservedAmount)
        spent += actual
        if period.isRolling { append(time: now, amount: actual) }
    }

    /// Frees a reservation whose request failed or was cancelled.
    mutating func release(_ reservedAmount: Double) {
        reserved = max(0, reserved - reservedAmount)
    }

    /// Forgets the settled spend (an admin reset); reservations in flight stay held.
    mutating func clearSpend() {
        spent = 0
        entries.removeAll()
        historyHead = 0
    }

    /// Keeps the rolling history in time order (the ledger replays it in order, so this appends).
    private mutating func append(time: Double, amount: Double) {
        if let last = entries.last, last.time > time {
            let index = entries[historyHead...].firstIndex { $0.time > time } ?? entries.count
            entries.insert((time, amount), at: index)
        } else {
            entries.append((time, amount))
        }
    }

    /// Books spend read back from the ledger at start-up (reservations do not survive a restart).
    mutating func restore(amount: Double, at time: Double, now: Double) {
        if let window = period.rollingSeconds {
            guard time > now - window else { return }
            append(time: time, amount: amount)
            spent += amount
        } else if period.periodStart(containing: time) == periodStart {
            spent += amount
        }
    }

    /// When a request needing `amount` could next be admitted, if nothing else is spent.
    func resetTime(now: Double, needing amount: Double) -> Double? {
        if let end = period.periodEnd(containing: now) { return end }
        guard let window = period.rollingSeconds else { return nil }
        // The earliest time enough old spend has left the window.
        var freed = limit - committed
        for entry in history {
            freed += entry.amount
            if freed >= amount { return entry.time + window }
        }
        return nil
    }
}
