import NIOCore
import NIOHTTP1

/// A whole HTTP/1.1 response written as one buffer, for the cache-hit path: no header
/// dictionary, no encoder, one write and one `writev`.
struct RawResponse {
    private(set) var buffer: ByteBuffer

    init(allocator: ByteBufferAllocator, status: HTTPResponseStatus, bodyBytes: Int) {
        buffer = allocator.buffer(capacity: 384 + bodyBytes)
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
    }

    mutating func header(_ name: StaticString, _ value: String) {
        buffer.writeStaticString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    mutating func header(_ name: StaticString, _ value: Int) {
        buffer.writeStaticString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(String(value))
        buffer.writeStaticString("\r\n")
    }

    mutating func header(named name: String, _ value: String) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    mutating func headers(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
    }

    /// `Cache-Status` of a hit, written piecewise to spare an interpolated string.
    mutating func cacheStatusHit(ttl: Int, keyHex: String) {
        buffer.writeStaticString("cache-status: tollgate; hit; ttl=")
        buffer.writeString(String(ttl))
        buffer.writeStaticString("; key=\"")
        buffer.writeString(keyHex)
        buffer.writeStaticString("\"\r\n")
    }

    /// Ends the head and appends the body.
    mutating func finish(body: inout ByteBuffer) -> ByteBuffer {
        buffer.writeStaticString("\r\n")
        buffer.writeBuffer(&body)
        return buffer
    }

    mutating func finish(body: [UInt8]) -> ByteBuffer {
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(body)
        return buffer
    }
}
