import NIOCore

/// One lazily re-armed timer per connection instead of a scheduled task per request: arming
/// only records a deadline; the timer wakes at most every `checkInterval` to compare.
struct ConnectionTimer {
    enum Purpose {
        /// Close a kept-alive connection that sends no new request.
        case idle
        /// Answer 408 to a request whose body does not arrive in time.
        case request
    }

    var purpose: Purpose?
    var deadline = NIODeadline.distantFuture
    var scheduled: Scheduled<Void>?
    var scheduledAt = NIODeadline.distantFuture
    var checkInterval = TimeAmount.seconds(30)

    /// Records the deadline; returns whether a (new) wake-up must be scheduled.
    mutating func arm(_ purpose: Purpose, deadline: NIODeadline) -> Bool {
        self.purpose = purpose
        self.deadline = deadline
        guard let scheduled else { return true }
        if deadline < scheduledAt {
            scheduled.cancel()
            self.scheduled = nil
            return true
        }
        return false
    }

    mutating func disarm() {
        purpose = nil
    }

    func nextCheck(now: NIODeadline) -> NIODeadline {
        min(deadline, now + checkInterval)
    }

    mutating func cancel() {
        purpose = nil
        scheduled?.cancel()
        scheduled = nil
    }
}
