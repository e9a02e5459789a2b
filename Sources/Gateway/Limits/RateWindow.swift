/// A per-minute limit as a generic cell rate (GCRA): `limit` units per `window` seconds, with
/// bursts up to the whole limit. One number of state per key, the theoretical arrival time
/// (TAT), so each decision is one atomic compare-and-advance under the key's lock.
///
/// With emission interval `T = window / limit`, a cost of `c` units is admitted at `now` when
/// `max(TAT, now) + c·T − now ≤ window`, and then `TAT = max(TAT, now) + c·T`. "Remaining" is
/// how many more units fit now; "reset" is when the window is whole again.
struct RateWindow: Sendable, Hashable {
    var limit: Int
    var window: Double

    init(limit: Int, window: Double = 60) {
        precondition(limit > 0 && window > 0)
        self.limit = limit
        self.window = window
    }

    var emissionInterval: Double { window / Double(limit) }

    /// What the headers report for a key whose TAT is `tat`.
    struct Status: Sendable, Hashable {
        var limit: Int
        var remaining: Int
        /// Seconds until every unit is available again.
        var resetSeconds: Double
    }

    enum Decision: Sendable, Hashable {
        case admitted(newTAT: Double, Status)
        /// `retryAfter`: seconds until this cost would be admitted (nil: it never fits the window).
        case refused(retryAfter: Double?, Status)
    }

    func status(tat: Double, now: Double) -> Status {
        let backlog = max(tat, now) - now
        let free = (window - backlog) / emissionInterval
        return Status(limit: limit, remaining: max(0, min(limit, Int((free + 1e-9).rounded(.down)))), resetSeconds: backlog)
    }

    func decide(cost: Int, tat: Double, now: Double) -> Decision {
        let base = max(tat, now)
        let newTAT = base + Double(max(0, cost)) * emissionInterval
        if newTAT - now <= window + 1e-9 {
            return .admitted(newTAT: newTAT, status(tat: newTAT, now: now))
        }
        let current = status(tat: tat, now: now)
        guard cost <= limit else { return .refused(retryAfter: nil, current) }
        return .refused(retryAfter: newTAT - window - now, current)
    }

    /// Charges `cost` whatever the state (completion tokens settled after the answer): the key
    /// may go into debt, which later requests wait out.
    func charge(cost: Int, tat: Double, now: Double) -> Double {
        max(tat, now) + Double(max(0, cost)) * emissionInterval
    }
}
