import Foundation
import NIOCore
import NIOHTTP1

/// One per admin connection: collects a whole request, checks the bearer token, and runs
/// the operation off the event loop (admin calls may touch SQLite).
final class AdminHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let api: AdminAPI
    private let access: AdminAccess
    private let maxBodyBytes = 1024 * 1024
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var rejected = false

    init(api: AdminAPI, access: AdminAccess) {
        self.api = api
        self.access = access
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.rejected = false
            body.clear()
        case .body(var chunk):
            guard !rejected else { return }
            if body.readableBytes + chunk.readableBytes > maxBodyBytes {
                rejected = true
                write(context: context, AdminAPI.Response.error(.payloadTooLarge(limit: maxBodyBytes)), keepAlive: false)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard let head, !rejected else { return }
            self.head = nil
            guard authorized(head.headers) else {
                let message: String
                if case .refuseAll = access {
                    message = "The admin API is bound beyond loopback and has no token: set server.admin_token or TOLLGATE_ADMIN_TOKEN."
                } else {
                    message = "The admin API needs 'Authorization: Bearer <admin token>'."
                }
                let error = GatewayError(
                    status: .unauthorized,
                    message: message,
                    code: "invalid_admin_token",
                    headers: [("www-authenticate", "Bearer")]
                )
                write(context: context, .error(error), keepAlive: head.isKeepAlive, extra: error.headers)
                return
            }
            let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let path = String(parts.first ?? "")
            let query = parts.count > 1 ? Self.parseQuery(parts[1]) : [:]
            let bytes = Array(buffer: body)
            let api = self.api
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            let keepAlive = head.isKeepAlive
            let method = head.method
            let eventLoop = context.eventLoop
            Task {
                let response = await api.handle(method: method, path: path, query: query, body: bytes)
                eventLoop.execute {
                    handler.value.write(context: loopContext.value, response, keepAlive: keepAlive)
                }
            }
        }
    }

    private func authorized(_ headers: HTTPHeaders) -> Bool {
        let token: String
        switch access {
        case .open: return true
        case .refuseAll: return false
        case .token(let value): token = value
        }
        guard let value = headers.first(name: "authorization"), value.lowercased().hasPrefix("bearer ") else {
            return false
        }
        return Self.constantTimeEquals(Array(value.utf8.dropFirst(7)), Array(token.utf8))
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    private func write(context: ChannelHandlerContext, _ response: AdminAPI.Response, keepAlive: Bool, extra: [(String, String)] = []) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.count))
        for (name, value) in extra { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    static func parseQuery(_ query: Substring) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first.flatMap({ String($0).removingPercentEncoding }) else { continue }
            let value = parts.count > 1 ? String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" : ""
            result[name] = value
        }
        return result
    }
}

@available(*, unavailable)
extension AdminHandler: Sendable {}

/// Who may use the admin plane.
enum AdminAccess: Sendable {
    /// No token configured and bound to loopback.
    case open
    case token(String)
    /// No token configured and reachable beyond loopback: nothing is allowed.
    case refuseAll

    init(token: String?, address: HostPort) {
        if let token, !token.isEmpty {
            self = .token(token)
        } else {
            self = address.isLoopback ? .open : .refuseAll
        }
    }
}
