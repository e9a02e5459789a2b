import NIOCore
import NIOHTTP1

/// Where an async response goes: the client connection, written on its event loop.
/// Calls are delivered in order.
protocol ResponseSink: Sendable {
    var allocator: ByteBufferAllocator { get }
    /// A complete response with a body of known length.
    func respond(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, outcome: ResponseOutcome)
    /// The head of a streamed response; chunks follow.
    func startStream(status: HTTPResponseStatus, headers: HTTPHeaders)
    func streamChunk(_ chunk: ByteBuffer)
    func endStream(outcome: ResponseOutcome)
    /// Ends a started stream abnormally: the connection is closed without the final chunk,
    /// so the client can tell the response is incomplete.
    func abortStream(outcome: ResponseOutcome)
}

extension ResponseSink {
    func respond(error: GatewayError, headers extra: [(String, String)] = [], outcome: ResponseOutcome) {
        let body = error.body
        var buffer = allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        let headers = ResponseRenderer.headers(
            contentType: "application/json",
            length: body.count,
            extra: extra + error.headers
        )
        respond(status: error.status, headers: headers, body: buffer, outcome: outcome)
    }
}

/// What the access log and metrics record about a finished response.
struct ResponseOutcome: Sendable {
    var route: String = "-"
    var model: String = "-"
    var tenant: String = "-"
    /// `hit`, `miss`, `request`, `bypass`, `collapsed`, `none`.
    var cache: String = "none"
    var backend: String = "-"
    var upstreamSeconds: Double?
    var costUSD: Double?
    var keyID: String?
}
