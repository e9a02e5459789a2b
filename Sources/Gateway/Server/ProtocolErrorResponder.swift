import NIOCore
import NIOHTTP1

/// Answers requests the HTTP parser rejected with an OpenAI-shaped error before the
/// connection closes: 431 for oversized headers, 400 for everything else (including the
/// request-smuggling shapes llhttp refuses, such as Content-Length with Transfer-Encoding).
final class ProtocolErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var hasUnterminatedResponse = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !hasUnterminatedResponse {
            let gatewayError: GatewayError
            switch parserError {
            case .headerOverflow:
                gatewayError = .headersTooLarge
            case .unexpectedContentLength, .invalidContentLength, .invalidChunkSize:
                gatewayError = .malformedRequest("conflicting or invalid Content-Length / Transfer-Encoding")
            default:
                gatewayError = .malformedRequest("\(parserError)")
            }
            let body = gatewayError.body
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(body.count))
            headers.add(name: "connection", value: "close")
            let head = HTTPResponseHead(version: .http1_1, status: gatewayError.status, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code < 200:
            break
        case .head:
            hasUnterminatedResponse = true
        case .body:
            break
        case .end:
            hasUnterminatedResponse = false
        }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension ProtocolErrorResponder: Sendable {}
