import Cache
import Foundation
import Logging
import NIOCore
import NIOPosix
import Router
import ServiceLifecycle
import UnixSignals

/// The whole gateway as one lifecycle service: data and admin listeners, the policy
/// watcher, SIGHUP reloads and cache upkeep. On graceful shutdown (SIGTERM) it stops
/// accepting, lets in-flight requests finish, then closes what is left.
public final class GatewayService: Service, Sendable {
    public let config: GatewayConfig
    private let environment: [String: String]
    private let logger: Logger
    private let policies: PolicyStore
    private let metrics: GatewayMetrics

    /// Loads and validates the policies; throws `ConfigErrors` if they are bad.
    public init(config: GatewayConfig, environment: [String: String], logger: Logger) throws {
        self.config = config
        self.environment = environment
        self.logger = logger
        let directory = config.resolve(config.server.policiesDir)
        let metrics = GatewayMetrics()
        self.metrics = metrics
        switch PolicyStore.load(directory: directory, environment: environment) {
        case .success(let table):
            policies = try PolicyStore(
                directory: directory, environment: environment, initial: table, tabularMetrics: metrics.tabular,
                logger: logger)
        case .failure(let errors):
            throw errors
        }
    }

    public func run() async throws {
        let (group, ownsGroup) = ExecutorTakeover.eventLoopGroup(threads: config.server.threads)
        let threads = group.makeIterator().reduce(0) { count, _ in count + 1 }
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        let metrics = self.metrics
        let accessLog = AccessLog(enabled: config.log.accessLog)
        let upstream = UpstreamClient(eventLoopGroup: group)
        let aliases = RawKeyAliases()
        let continuations = config.cache.enabled && config.cache.prefixIndexBytes > 0
            ? ContinuationIndex<RecordedCompletion>(capacityBytes: config.cache.prefixIndexBytes) : nil
        let semantic = config.cache.enabled && config.cache.semanticIndexEntries > 0
            ? SemanticIndex(capacity: config.cache.semanticIndexEntries) : nil
        let sideIndexes: [any CacheSideIndex] = [continuations as (any CacheSideIndex)?, semantic].compactMap { $0 }
        let cache = makeCache(aliases: aliases, sideIndexes: sideIndexes)
        let breakers = CircuitBreakerRegistry(table: policies.table)
        policies.observeReloads { table in
            aliases.removeAll()
            breakers.apply(table)
        }

        let limits: LimitEnforcer
        do {
            limits = try makeLimits(metrics: metrics.limits)
        } catch {
            try? await threadPool.shutdownGracefully()
            if ownsGroup { try? await group.shutdownGracefully() }
            throw StartupError(message: "cannot open the limits store: \(error)")
        }
        let pipeline = InferencePipeline(
            cache: cache,
            aliases: aliases,
            policies: policies,
            upstream: upstream,
            breakers: breakers,
            metrics: metrics,
            threadPool: threadPool,
            logger: logger,
            defaultTTLSeconds: config.cache.defaultTTLSeconds,
            maxEntryBytes: config.cache.maxEntryBytes,
            limits: limits,
            continuations: continuations,
            semantic: semantic
        )
        let shared = GatewayContext(pipeline: pipeline, metrics: metrics, accessLog: accessLog, server: config.server)
        let data = DataServer(
            address: config.server.listen,
            group: group,
            shared: shared,
            maxHeaderBytes: config.server.maxHeaderBytes
        )
        let adminToken = config.server.adminToken.isEmpty ? environment["TOLLGATE_ADMIN_TOKEN"] : config.server.adminToken
        let access = AdminAccess(token: adminToken, address: config.server.adminListen)
        if case .refuseAll = access {
            logger.warning("admin plane is bound beyond loopback without a token: it refuses every request")
        }
        let api = AdminAPI(pipeline: pipeline, metrics: metrics, policies: policies, logger: logger)
        let admin = AdminServer(address: config.server.adminListen, group: group, api: api, access: access)

        let dataChannel: any Channel
        let adminChannel: any Channel
        do {
            dataChannel = try await data.bind()
            adminChannel = try await admin.bind()
        } catch {
            if ownsGroup { try? await group.shutdownGracefully() }
            throw StartupError(message: "cannot listen: \(error)")
        }
        logger.notice(
            "tollgate serving",
            metadata: [
                "tollgate.listen": "\(dataChannel.localAddress?.description ?? config.server.listen.description)",
                "tollgate.admin_listen": "\(adminChannel.localAddress?.description ?? config.server.adminListen.description)",
                "tollgate.routes": "\(policies.table.routes.count)",
                "tollgate.event_loops": "\(threads)",
            ]
        )

        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask { await self.reloadOnSIGHUP(metrics: metrics) }
            if config.server.watchPolicies {
                tasks.addTask { await self.watchPolicies(metrics: metrics) }
            }
            if let cache {
                tasks.addTask { await self.sweepExpired(cache: cache, threadPool: threadPool) }
            }
            if let ledger = limits.ledger {
                tasks.addTask { await Self.checkpointLedger(ledger, threadPool: threadPool) }
            }
            // Wait for SIGTERM (or cancellation), then drain.
            try? await gracefulShutdown()
            self.logger.notice("shutting down: draining in-flight requests")
            shared.startDraining()
            try? await dataChannel.close()
            let deadline = Clock.monotonicNow() + config.server.shutdownGraceSeconds
            while shared.inflight > 0, Clock.monotonicNow() < deadline {
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
            data.tracker.closeAll()
            try? await adminChannel.close()
            tasks.cancelAll()
        }
        policies.shutdownEngines()
        await upstream.shutdown()
        await pipeline.diskWrites.waitForWritesInFlight()
        try? limits.ledger?.checkpoint()
        accessLog.shutdown()
        try? await threadPool.shutdownGracefully()
        if ownsGroup { try? await group.shutdownGracefully() }
        logger.notice("stopped")
    }

    /// The key store and the ledger, in SQLite files next to the config.
    private func makeLimits(metrics: LimitMetrics) throws -> LimitEnforcer {
        let keysPath = config.resolve(config.limits.keysPath)
        let ledgerPath = config.resolve(config.limits.ledgerPath)
        for path in [keysPath, ledgerPath] {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        let requireKeys = config.limits.requiresKeys(listen: config.server.listen)
        if !requireKeys, !config.server.listen.isLoopback {
            logger.warning("limits.auth = \"open\" on a data port beyond loopback: requests need no key")
        }
        return LimitEnforcer(
            requireKeys: requireKeys,
            keys: try VirtualKeyStore(path: keysPath),
            ledger: try SpendLedger(path: ledgerPath),
            tenants: config.limits.tenants,
            defaultMaxTokens: config.limits.defaultMaxTokens,
            cacheHitsFree: config.limits.cacheHitsFree,
            metrics: metrics,
            logger: logger
        )
    }

    private func makeCache(aliases: RawKeyAliases, sideIndexes: [any CacheSideIndex]) -> ResponseCache? {
        guard config.cache.enabled else { return nil }
        let memory = MemoryTier(capacityBytes: config.cache.memoryBytes)
        var disk: DiskTier?
        if !config.cache.diskPath.isEmpty {
            let path = config.resolve(config.cache.diskPath)
            do {
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true
                )
                disk = try DiskTier(path: path, maxBytes: config.cache.diskMaxBytes)
            } catch {
                logger.error(
                    "disk cache tier unavailable; serving from memory only",
                    metadata: ["tollgate.path": "\(path)", "tollgate.error": "\(error)"]
                )
            }
        }
        return ResponseCache(memory: memory, disk: disk, aliases: aliases, sideIndexes: sideIndexes)
    }

    private func reload(reason: String, metrics: GatewayMetrics) {
        switch policies.reload() {
        case .success(let table):
            metrics.policyReloads.increment()
            logger.notice("policies reloaded", metadata: ["tollgate.reason": "\(reason)", "tollgate.routes": "\(table.routes.count)"])
        case .failure(let errors):
            metrics.policyReloadFailures.increment()
            logger.error(
                "policy reload rejected; the previous routing table keeps serving",
                metadata: ["tollgate.reason": "\(reason)", "tollgate.errors": "\(errors)"]
            )
        }
    }

    private func reloadOnSIGHUP(metrics: GatewayMetrics) async {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals {
            reload(reason: "SIGHUP", metrics: metrics)
        }
    }

    private func watchPolicies(metrics: GatewayMetrics) async {
        var last = policies.fingerprint()
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 1_000_000_000)
            let now = policies.fingerprint()
            if now != last {
                last = now
                reload(reason: "file change", metrics: metrics)
            }
        }
    }

    /// Moves the spend ledger's WAL into its file every few seconds, off the request path.
    private static func checkpointLedger(_ ledger: SpendLedger, threadPool: NIOThreadPool) async {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 2_000_000_000)
            _ = try? await threadPool.runIfActive { try ledger.checkpoint() }
        }
    }

    private func sweepExpired(cache: ResponseCache, threadPool: NIOThreadPool) async {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 30_000_000_000)
            let now = Clock.wallNow()
            _ = try? await threadPool.runIfActive { try cache.removeExpired(now: now) }
        }
    }
}

/// The gateway could not start.
public struct StartupError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
