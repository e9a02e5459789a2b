import NIOCore
import NIOHTTP1

/// Where a connection is in its request/response cycle.
struct ConnectionState {
    enum Phase: Equatable {
        case idle
        case receiving
        case responding
        case streaming
        /// A 413 went out; the rest of the body is dropped and the connection closes.
        case discarding
        case closed
    }

    var phase: Phase = .idle
    var head: HTTPRequestHead?
    var keepAlive = true
    /// Bumped per async response so that a late write from an old request is ignored.
    var generation: UInt64 = 0

    mutating func begin(head: HTTPRequestHead) {
        phase = .receiving
        self.head = head
    }

    mutating func finish() {
        if phase == .responding || phase == .streaming { phase = .idle }
    }
}

/// What the access log line of the current request is built from.
struct RequestRecord {
    var requestID = ""
    var method = ""
    var path = ""
    var started = NIODeadline.now()
    var outcome = ResponseOutcome()
    var bytesOut = 0
    var finished = false
}
