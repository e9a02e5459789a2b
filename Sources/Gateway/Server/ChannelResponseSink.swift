import NIOCore
import NIOHTTP1

/// Writes an async response to its connection. Every call is enqueued on the connection's
/// event loop, so calls arrive in order; a call for a request that is no longer current
/// (the client left, the connection moved on) is dropped.
struct ChannelResponseSink: ResponseSink {
    let handler: NIOLoopBound<GatewayHandler>
    let eventLoop: any EventLoop
    let allocator: ByteBufferAllocator
    let generation: UInt64

    private func run(_ body: @escaping @Sendable (GatewayHandler) -> Void) {
        let handler = self.handler
        let generation = self.generation
        eventLoop.execute {
            let value = handler.value
            guard value.isCurrent(generation) else { return }
            body(value)
        }
    }

    func respond(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, outcome: ResponseOutcome) {
        run { $0.writeResponse(status: status, headers: headers, body: body, outcome: outcome) }
    }

    func startStream(status: HTTPResponseStatus, headers: HTTPHeaders) {
        run { $0.writeStreamHead(status: status, headers: headers) }
    }

    func streamChunk(_ chunk: ByteBuffer) {
        run { $0.writeStreamChunk(chunk) }
    }

    func endStream(outcome: ResponseOutcome) {
        run { $0.endStream(outcome: outcome) }
    }

    func abortStream(outcome: ResponseOutcome) {
        run { $0.abortStream(outcome: outcome) }
    }
}
