import Cache
import NIOCore
import NIOHTTP1

/// Turns a stored response into the bytes a client asked for: JSON, or SSE replayed
/// event by event. Shared by the hit path on the event loop and the miss path.
enum ResponseRenderer {
    static let sseDone: [UInt8] = Array("data: [DONE]\n\n".utf8)

    /// Appends one SSE event carrying `payload`.
    static func appendEvent(_ payload: [UInt8], to buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: ")
        buffer.writeBytes(payload)
        buffer.writeStaticString("\n\n")
    }

    static func event(_ payload: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.count + 8)
        appendEvent(payload, to: &buffer)
        return buffer
    }

    /// The body for `entry` in the client's mode, and its content type.
    static func body(
        for entry: CachedResponse,
        stream: Bool,
        includeUsage: Bool,
        allocator: ByteBufferAllocator
    ) -> (ByteBuffer, String) {
        guard stream, let events = entry.events else {
            var buffer = allocator.buffer(capacity: entry.body.count)
            buffer.writeBytes(entry.body)
            return (buffer, entry.contentType)
        }
        var size = sseDone.count
        for event in events { size += event.count + 8 }
        var buffer = allocator.buffer(capacity: size)
        for (index, event) in events.enumerated() where includeUsage || index != entry.usageEventIndex {
            appendEvent(event, to: &buffer)
        }
        buffer.writeBytes(sseDone)
        return (buffer, "text/event-stream")
    }

    static func headers(contentType: String, length: Int?, extra: [(String, String)]) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(extra.count + 3)
        headers.add(name: "content-type", value: contentType)
        if let length { headers.add(name: "content-length", value: String(length)) }
        if contentType == "text/event-stream" { headers.add(name: "cache-control", value: "no-cache") }
        for (name, value) in extra { headers.add(name: name, value: value) }
        return headers
    }
}
