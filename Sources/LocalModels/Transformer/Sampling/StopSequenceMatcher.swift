/// Finds stop sequences in streamed text: returns text that is safe to emit now (holding back a tail that could be
/// the start of a stop string) and whether a stop was hit (text after the stop is dropped).
///
/// Matching is on UTF-8 bytes, as llama.cpp's server and OpenAI do, so a stop is found inside a grapheme
/// too (a stop "e" ends "e\u{301}" before the accent). Splits always fall on scalar boundaries: a match or a
/// held-back tail starts where a stop's first byte, never a continuation byte, matches.
public struct StopSequenceMatcher: Sendable {
    private let stops: [[UInt8]]
    private let longestStop: Int
    /// Text received but not yet emitted: at most the longest stop minus one byte between calls.
    private var pending: [UInt8] = []
    private var stopped = false

    /// Empty stop strings are ignored.
    public init(stops: [String]) {
        self.stops = stops.map { Array($0.utf8) }.filter { !$0.isEmpty }
        longestStop = self.stops.map(\.count).max() ?? 0
    }

    /// Whether a stop sequence has been seen; everything after it is dropped.
    public var hasStopped: Bool { stopped }

    public mutating func append(_ text: String) -> (emit: String, stopped: Bool) {
        if stopped { return ("", true) }
        if stops.isEmpty { return (text, false) }
        pending.append(contentsOf: text.utf8)
        if let start = firstMatch() {
            stopped = true
            let emit = String(decoding: pending[..<start], as: UTF8.self)
            pending.removeAll()
            return (emit, true)
        }
        let hold = heldBackStart()
        let emit = String(decoding: pending[..<hold], as: UTF8.self)
        pending.removeSubrange(..<hold)
        return (emit, false)
    }

    /// The held-back tail at the end of the stream (no stop can complete any more); empty after a stop.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return stopped ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Where the earliest stop sequence starts in `pending`.
    private func firstMatch() -> Int? {
        guard !pending.isEmpty else { return nil }
        for start in pending.indices {
            let available = pending.count - start
            for stop in stops where stop.count <= available && matches(stop, at: start, length: stop.count) {
                return start
            }
        }
        return nil
    }

    /// Where the longest tail of `pending` that is a proper prefix of some stop begins (`pending.count` if none).
    private func heldBackStart() -> Int {
        let earliest = max(0, pending.count - (longestStop - 1))
        for start in earliest..<pending.count {
            let length = pending.count - start
            for stop in stops where stop.count > length && matches(stop, at: start, length: length) {
                return start
            }
        }
        return pending.count
    }

    private func matches(_ stop: [UInt8], at start: Int, length: Int) -> Bool {
        for k in 0..<length where pending[start + k] != stop[k] {
            return false
        }
        return true
    }
}
