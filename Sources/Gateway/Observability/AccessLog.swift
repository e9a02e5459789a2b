import Foundation
import NIOConcurrencyHelpers

/// One JSON line per finished request, written to standard output in batches by a
/// background thread so that the event loops never block on a `write(2)`.
public final class AccessLog: Sendable {
    private let state = NIOLockedValueBox(State())
    private let enabled: Bool

    private struct State {
        var buffer: [UInt8] = []
        var stopped = false
    }

    public init(enabled: Bool) {
        self.enabled = enabled
        guard enabled else { return }
        let thread = Thread { [self] in self.flushLoop() }
        thread.name = "tollgate-access-log"
        thread.start()
    }

    public struct Record: Sendable {
        public var requestID: String
        public var method: String
        public var path: String
        public var status: Int
        public var route: String
        public var model: String
        public var tenant: String
        public var cache: String
        public var backend: String
        public var bytesOut: Int
        public var durationSeconds: Double
        public var upstreamSeconds: Double?
        /// What the request was charged (a backend call's cost); nil when nothing was priced.
        public var costUSD: Double? = nil
        /// The virtual key's id, when the request came with one.
        public var keyID: String? = nil
    }

    public func log(_ record: Record) {
        guard enabled else { return }
        var line = [UInt8]()
        line.reserveCapacity(256)
        line.append(contentsOf: #"{"ts":"#.utf8)
        Self.appendFixed3(Clock.wallNow(), to: &line)
        field(&line, "request_id", record.requestID)
        field(&line, "method", record.method)
        field(&line, "path", record.path)
        line.append(contentsOf: #","status":"#.utf8)
        line.append(contentsOf: String(record.status).utf8)
        field(&line, "route", record.route)
        field(&line, "model", record.model)
        field(&line, "tenant", record.tenant)
        if let keyID = record.keyID { field(&line, "key", keyID) }
        field(&line, "cache", record.cache)
        field(&line, "backend", record.backend)
        line.append(contentsOf: #","bytes":"#.utf8)
        line.append(contentsOf: String(record.bytesOut).utf8)
        line.append(contentsOf: #","duration_ms":"#.utf8)
        Self.appendFixed3(record.durationSeconds * 1000, to: &line)
        if let upstream = record.upstreamSeconds {
            line.append(contentsOf: #","upstream_ms":"#.utf8)
            Self.appendFixed3(upstream * 1000, to: &line)
        }
        if let cost = record.costUSD {
            line.append(contentsOf: #","cost_usd":"#.utf8)
            line.append(contentsOf: USD.format(cost).utf8)
        }
        line.append(contentsOf: "}\n".utf8)
        state.withLockedValue { state in
            // Bounded: under a flood, drop lines rather than grow without limit.
            if state.buffer.count < 8 * 1024 * 1024 { state.buffer.append(contentsOf: line) }
        }
    }

    /// A non-negative number with three decimals, without `String(format:)` (which goes
    /// through Foundation's varargs formatting on every request).
    static func appendFixed3(_ value: Double, to line: inout [UInt8]) {
        let thousandths = Int64((max(0, value) * 1000).rounded())
        line.append(contentsOf: String(thousandths / 1000).utf8)
        line.append(UInt8(ascii: "."))
        let fraction = thousandths % 1000
        if fraction < 100 { line.append(UInt8(ascii: "0")) }
        if fraction < 10 { line.append(UInt8(ascii: "0")) }
        line.append(contentsOf: String(fraction).utf8)
    }

    private func field(_ line: inout [UInt8], _ name: String, _ value: String) {
        line.append(contentsOf: ",\"\(name)\":".utf8)
        JSONText.appendQuoted(value, to: &line)
    }

    public func shutdown() {
        state.withLockedValue { $0.stopped = true }
        flush()
    }

    private func flushLoop() {
        while !state.withLockedValue({ $0.stopped }) {
            usleep(50_000)
            flush()
        }
    }

    private func flush() {
        let pending = state.withLockedValue { state -> [UInt8] in
            let out = state.buffer
            state.buffer.removeAll(keepingCapacity: true)
            return out
        }
        guard !pending.isEmpty else { return }
        pending.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(1, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }
}
