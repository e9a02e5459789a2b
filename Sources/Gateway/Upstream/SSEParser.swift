/// Incremental parser for `text/event-stream`: bytes in, the `data` payload of each complete
/// event out. Chunk boundaries from the network may fall anywhere, even inside a line.
struct SSEParser {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    /// Refuse events larger than this (a misbehaving upstream must not exhaust memory).
    let maxEventBytes: Int

    init(maxEventBytes: Int = 16 * 1024 * 1024) {
        self.maxEventBytes = maxEventBytes
    }

    struct EventTooLarge: Error {}

    /// Feeds bytes; returns the payloads of the events they complete.
    mutating func feed(_ bytes: some Sequence<UInt8>) throws -> [[UInt8]] {
        var events: [[UInt8]] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if let event = takeLine() { events.append(event) }
            } else {
                line.append(byte)
                if line.count > maxEventBytes { throw EventTooLarge() }
            }
        }
        return events
    }

    /// Call at end of stream: an event not closed by a blank line is dropped, as the spec says.
    var hasPartialEvent: Bool { hasData || !line.isEmpty }

    private mutating func takeLine() -> [UInt8]? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData else { return nil }
            let event = data
            data.removeAll(keepingCapacity: true)
            hasData = false
            return event
        }
        if line.first == UInt8(ascii: ":") { return nil }  // comment / keep-alive
        let field: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        } else {
            field = line[...]
            value = []
        }
        if field.elementsEqual("data".utf8) {
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
        }
        return nil
    }
}
