import Cache
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Router
import Testing

@testable import Gateway

/// The data-plane handler driven byte for byte through NIO's HTTP codec on an
/// `EmbeddedChannel`: hits, pipelining, and the protocol-level errors.
@Suite struct GatewayHandlerTests {
    static let policy = """
        [backends.up]
        url = "http://127.0.0.1:9/v1"
        [[routes]]
        name = "r"
        kinds = ["chat"]
        models = ["m"]
        backends = ["up"]
        """

    /// A handler wired to a real pipeline whose upstream is never reached by these tests.
    final class Harness {
        let channel = EmbeddedChannel()
        let context: GatewayContext
        let upstream: UpstreamClient

        init(maxBodyBytes: Int = 4096, maxHeaderBytes: Int = 2048) throws {
            let table = try PolicyLoader.load(
                sources: [PolicySource(path: "t.toml", text: GatewayHandlerTests.policy)],
                environment: [:]
            ).get()
            let aliases = RawKeyAliases()
            let cache = ResponseCache(memory: MemoryTier(capacityBytes: 1 << 22), disk: nil, aliases: aliases)
            upstream = UpstreamClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            let pipeline = InferencePipeline(
                cache: cache,
                aliases: aliases,
                policies: try PolicyStore(directory: "/nonexistent", environment: [:], initial: table),
                upstream: upstream,
                breakers: CircuitBreakerRegistry(table: table),
                metrics: GatewayMetrics(),
                threadPool: NIOThreadPool.singleton,
                logger: Logger(label: "test"),
                defaultTTLSeconds: 60,
                maxEntryBytes: 1 << 20,
                limits: .unlimited(logger: Logger(label: "test"))
            )
            var server = ServerConfig()
            server.maxBodyBytes = maxBodyBytes
            context = GatewayContext(pipeline: pipeline, metrics: GatewayMetrics(), accessLog: AccessLog(enabled: false), server: server)
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderListSize = maxHeaderBytes
            limits.maxHeaderFieldSize = maxHeaderBytes
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(HTTPResponseEncoder())
            try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: limits)))
            try sync.addHandler(GatewayHandler(shared: context))
        }

        func store(body: String, answer: String) throws {
            let request = try JSONParser.parse(Array(body.utf8))
            let canonical = RequestCanonicalizer.canonicalBytes(request, endpoint: "chat")
            let key = RequestCanonicalizer.cacheKey(scope: "anonymous", route: "r", endpoint: "chat", canonical: canonical)
            let now = Clock.wallNow()
            let entry = CachedResponse(
                metadata: EntryMetadata(
                    key: key, tenant: "anonymous", route: "r", endpoint: "chat", model: "m",
                    createdAt: now - 5, expiresAt: now + 100
                ),
                body: Array(answer.utf8)
            )
            _ = context.cache?.storeInMemory(entry, now: now)
        }

        func send(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        /// Everything written so far, as text.
        func output() throws -> String {
            var text = ""
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                text += buffer.readString(length: buffer.readableBytes) ?? ""
            }
            return text
        }

        func close() async {
            _ = try? channel.finish()
            await upstream.shutdown()
        }
    }

    static func post(_ body: String, path: String = "/v1/chat/completions", extra: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)"
    }

    static let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#

    @Test func hitsAreAnsweredOnTheLoopCanonicallyThenByRawBody() async throws {
        let harness = try Harness()
        try harness.store(body: Self.body, answer: #"{"answer":1}"#)
        // Same request with its keys in another order: a canonical hit.
        try harness.send(Self.post(#"{"messages":[{"content":"hi","role":"user"}],"model":"m"}"#))
        let first = try harness.output()
        #expect(first.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(first.contains("cache-status: tollgate; hit; ttl="))
        #expect(first.contains("age: 5\r\n") || first.contains("age: 4\r\n") || first.contains("age: 6\r\n"))
        #expect(first.hasSuffix("\r\n\r\n{\"answer\":1}"))
        // Byte-identical repeat: answered through the raw-body alias.
        try harness.send(Self.post(#"{"messages":[{"content":"hi","role":"user"}],"model":"m"}"#))
        let second = try harness.output()
        #expect(second.contains("hit;"))
        #expect(second.hasSuffix("{\"answer\":1}"))
        #expect(harness.context.aliases.count == 1)
        await harness.close()
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let harness = try Harness()
        try harness.store(body: Self.body, answer: #"{"answer":2}"#)
        try harness.send(Self.post(Self.body) + "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + Self.post(Self.body))
        let text = try harness.output()
        let starts = text.components(separatedBy: "HTTP/1.1 200 OK").count - 1
        #expect(starts == 3)
        let health = try #require(text.range(of: #"{"status":"ok"}"#))
        let answers = text.ranges(of: #"{"answer":2}"#)
        #expect(answers.count == 2)
        #expect(answers[0].upperBound <= health.lowerBound && health.upperBound <= answers[1].lowerBound)
        await harness.close()
    }

    @Test func clientErrorsAreOpenAIShapedJSON() async throws {
        let harness = try Harness()
        try harness.send(Self.post(#"{"model":"m","messages":[}"#))
        let malformed = try harness.output()
        #expect(malformed.hasPrefix("HTTP/1.1 400 Bad Request"))
        #expect(malformed.contains(#""code":"invalid_json""#))

        try harness.send(Self.post(#"{"model":"nope","messages":[]}"#))
        let unknown = try harness.output()
        #expect(unknown.hasPrefix("HTTP/1.1 404 Not Found"))
        #expect(unknown.contains("model_not_found"))

        try harness.send("GET /v1/chat/completions HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try harness.output().hasPrefix("HTTP/1.1 405 Method Not Allowed"))

        try harness.send("GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try harness.output().hasPrefix("HTTP/1.1 404 Not Found"))
        await harness.close()
    }

    @Test func oversizedBodyGets413AndTheConnectionCloses() async throws {
        let harness = try Harness(maxBodyBytes: 1024)
        try harness.send("POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n")
        let text = try harness.output()
        #expect(text.hasPrefix("HTTP/1.1 413 Payload Too Large"))
        #expect(text.contains("connection: close"))
        #expect(text.contains("request_too_large"))
        await harness.close()
    }

    @Test func oversizedHeadersGet431() async throws {
        let harness = try Harness(maxHeaderBytes: 1024)
        let big = String(repeating: "a", count: 4096)
        _ = try? harness.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: \(big)\r\n\r\n")
        let text = try harness.output()
        #expect(text.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large"))
        #expect(text.contains(#""code":"headers_too_large""#))
        await harness.close()
    }

    @Test func smugglingShapeIsRefused() async throws {
        let harness = try Harness()
        _ = try? harness.send(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        let text = try harness.output()
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request"))
        #expect(text.contains("malformed_request"))
        await harness.close()
    }
}
