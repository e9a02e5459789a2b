import Cache
import NIOCore
import NIOHTTP1
import Synchronization

/// State shared by every data-plane connection.
final class GatewayContext: Sendable {
    let pipeline: InferencePipeline
    let tabular: TabularPipeline
    let metrics: GatewayMetrics
    let accessLog: AccessLog
    let maxBodyBytes: Int
    let idleTimeout: TimeAmount
    let requestTimeout: TimeAmount
    private let draining = Atomic<Bool>(false)
    private let inflightCount = Atomic<Int>(0)
    private let requestCounter = Atomic<UInt64>(0)
    private let requestIDPrefix: String

    init(pipeline: InferencePipeline, metrics: GatewayMetrics, accessLog: AccessLog, server: ServerConfig) {
        self.pipeline = pipeline
        self.tabular = TabularPipeline(
            cache: pipeline.cache, policies: pipeline.policies, metrics: metrics.tabular,
            defaultTTLSeconds: pipeline.defaultTTLSeconds, limits: pipeline.limits)
        self.metrics = metrics
        self.accessLog = accessLog
        self.maxBodyBytes = server.maxBodyBytes
        self.idleTimeout = .milliseconds(Int64(server.idleTimeoutSeconds * 1000))
        self.requestTimeout = .milliseconds(Int64(server.requestTimeoutSeconds * 1000))
        var generator = SystemRandomNumberGenerator()
        self.requestIDPrefix = String(generator.next() & 0xffff_ffff, radix: 16)
    }

    var cache: ResponseCache? { pipeline.cache }
    var aliases: RawKeyAliases { pipeline.aliases }

    /// Unique per process, cheap to make: a random prefix and a counter.
    func nextRequestID() -> String {
        let n = requestCounter.add(1, ordering: .relaxed).newValue
        return "req_\(requestIDPrefix)\(String(n, radix: 16))"
    }

    var isDraining: Bool { draining.load(ordering: .relaxed) }
    func startDraining() { draining.store(true, ordering: .relaxed) }

    var inflight: Int { inflightCount.load(ordering: .relaxed) }
    func requestStarted() { inflightCount.add(1, ordering: .relaxed) }
    func requestFinished() { inflightCount.subtract(1, ordering: .relaxed) }
}
