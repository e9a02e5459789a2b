import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Router

/// Calls OpenAI-compatible upstreams over AsyncHTTPClient (pooling, TLS, streaming) and
/// classifies what went wrong in the terms routing policies speak.
final class UpstreamClient: Sendable {
    let client: HTTPClient
    /// Parsed request templates by URL: parsing a URL costs more than the rest of building
    /// a request, and a gateway calls the same few URLs over and over.
    private let templates = NIOLockedValueBox([String: HTTPClient.Request]())

    init(eventLoopGroup: any EventLoopGroup, connectTimeoutSeconds: Double = 5) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .milliseconds(Int64(connectTimeoutSeconds * 1000)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        // Fail fast on a refused connection: the route's fallbacks decide what happens next.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        // No tracer is bootstrapped; skip the per-request span bookkeeping entirely.
        configuration.tracing.tracer = nil
        client = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends one request whose response is taken in by `delegate` on `eventLoop` (the
    /// client's loop, so that the upstream connection lives there too).
    func exchange(
        url: String,
        body: ByteBuffer,
        apiKey: String?,
        streaming: Bool,
        deadline: NIODeadline,
        eventLoop: any EventLoop,
        delegate: UpstreamExchange
    ) async throws(UpstreamFailure) -> ExchangeResult {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "accept", value: streaming ? "text/event-stream" : "application/json")
        if let apiKey, !apiKey.isEmpty { headers.add(name: "authorization", value: "Bearer \(apiKey)") }
        var request: HTTPClient.Request
        if let template = templates.withLockedValue({ $0[url] }) {
            request = template
        } else {
            do {
                request = try HTTPClient.Request(url: url, method: .POST)
            } catch {
                throw UpstreamFailure(kind: .connect, detail: "invalid upstream URL \(url): \(error)")
            }
            templates.withLockedValue { templates in
                if templates.count >= 1024 { templates.removeAll() }
                templates[url] = request
            }
        }
        request.headers = headers
        request.body = .byteBuffer(body)
        let task = client.execute(
            request: request,
            delegate: delegate,
            eventLoop: .delegateAndChannel(on: eventLoop),
            deadline: deadline
        )
        do {
            return try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch {
            throw UpstreamFailure(classifying: error)
        }
    }

    /// A GET, for `/v1/models` on upstreams.
    func get(url: String, apiKey: String?, deadline: NIODeadline) async throws(UpstreamFailure) -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: url)
        if let apiKey, !apiKey.isEmpty { request.headers.add(name: "authorization", value: "Bearer \(apiKey)") }
        do {
            let response = try await client.execute(request, deadline: deadline)
            let body = try await response.body.collect(upTo: 8 * 1024 * 1024)
            return (Int(response.status.code), Array(buffer: body))
        } catch {
            throw UpstreamFailure(classifying: error)
        }
    }
}

/// Why an upstream attempt produced no response.
struct UpstreamFailure: Error, Sendable, CustomStringConvertible {
    enum Kind: String, Sendable {
        case connect = "connect_error"
        case timeout
        case closed = "connection_closed"
        case cancelled
        case other
    }

    var kind: Kind
    var detail: String

    init(kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    init(classifying error: any Error) {
        if error is CancellationError {
            self.init(kind: .cancelled, detail: "cancelled")
        } else if let error = error as? UpstreamFailure {
            self = error
        } else if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                self.init(kind: .timeout, detail: "\(error)")
            case .connectTimeout, .socksHandshakeTimeout, .tlsHandshakeTimeout:
                self.init(kind: .connect, detail: "\(error)")
            case .cancelled:
                self.init(kind: .cancelled, detail: "\(error)")
            case .remoteConnectionClosed:
                self.init(kind: .closed, detail: "\(error)")
            default:
                self.init(kind: .other, detail: "\(error)")
            }
        } else if error is NIOConnectionError || error is IOError || error is ChannelError {
            self.init(kind: .connect, detail: "\(error)")
        } else {
            self.init(kind: .other, detail: "\(error)")
        }
    }

    var description: String { "\(kind.rawValue): \(detail)" }

    /// In policy terms, for `fallback_on` and `retry.on`.
    var backendFailure: BackendFailure {
        switch kind {
        case .connect: return .connectError
        case .timeout: return .timeout
        case .closed, .cancelled, .other: return .other
        }
    }
}
