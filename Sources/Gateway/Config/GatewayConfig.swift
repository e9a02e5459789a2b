import Foundation
import Router

/// Everything `config.toml` controls. Defaults live in the initialisers, so a config file
/// only names what it changes.
public struct GatewayConfig: Sendable {
    public var server: ServerConfig
    public var cache: CacheConfig
    public var log: LogConfig
    public var limits: LimitsConfig = LimitsConfig()
    /// The file this configuration was read from (nil when built in code).
    public var sourcePath: String?

    public init(server: ServerConfig = .init(), cache: CacheConfig = .init(), log: LogConfig = .init()) {
        self.server = server
        self.cache = cache
        self.log = log
    }
}

/// The data and admin listeners and their limits.
public struct ServerConfig: Sendable {
    /// Data plane address, `HOST:PORT`.
    public var listen: HostPort = HostPort(host: "127.0.0.1", port: 8080)
    /// Admin plane address, `HOST:PORT`.
    public var adminListen: HostPort = HostPort(host: "127.0.0.1", port: 8081)
    /// Bearer token for the admin plane. Empty: `TOLLGATE_ADMIN_TOKEN` from the environment.
    public var adminToken: String = ""
    /// Event loops; 0 means one per core.
    public var threads: Int = 0
    public var maxBodyBytes: Int = 8 * 1024 * 1024
    public var maxHeaderBytes: Int = 32 * 1024
    /// How long a kept-alive connection may wait for the head of its next request.
    public var idleTimeoutSeconds: Double = 75
    /// How long a request may take to arrive whole once its head is in.
    public var requestTimeoutSeconds: Double = 30
    /// How long SIGTERM waits for in-flight requests before closing them.
    public var shutdownGraceSeconds: Double = 30
    /// Policy folder, relative to the config file.
    public var policiesDir: String = "policies"
    /// Reload policies when a file in the folder changes.
    public var watchPolicies: Bool = true

    public init() {}
}

/// The response cache tiers.
public struct CacheConfig: Sendable {
    public var enabled: Bool = true
    public var memoryBytes: Int = 256 * 1024 * 1024
    public var defaultTTLSeconds: Double = 3600
    public var maxEntryBytes: Int = 8 * 1024 * 1024
    /// SQLite file for the disk tier, relative to the config file; empty disables the tier.
    public var diskPath: String = "data/cache.sqlite"
    public var diskMaxBytes: Int = 1024 * 1024 * 1024
    /// Memory for the tokens of deterministic local completions, so that a request for a cached
    /// prompt plus the start of its completion (or for fewer tokens) is answered from it; 0 turns
    /// prefix hits off. In memory only: it starts empty after a restart.
    public var prefixIndexBytes: Int = 64 * 1024 * 1024
    /// Prompt embeddings kept for routes with a semantic cache (each of a 384-dimension encoder
    /// holds 1.5 KiB); 0 turns semantic hits off.
    public var semanticIndexEntries: Int = 100_000

    public init() {}
}

/// Virtual keys, the spend ledger and the limits that are not a key's or a route's own.
public struct LimitsConfig: Sendable {
    public enum Auth: String, Sendable, CaseIterable {
        /// `open` when the data plane listens on loopback only, `keys` otherwise.
        case auto
        /// Every data-plane request must present a live virtual key.
        case keys
        /// Keys are optional: a request without one is its own tenant (by its bearer's hash).
        case open
    }

    public var auth: Auth = .auto
    /// SQLite file of the virtual keys, relative to the config file.
    public var keysPath: String = "data/keys.sqlite"
    /// SQLite file of the spend ledger, relative to the config file.
    public var ledgerPath: String = "data/spend.sqlite"
    /// Completion tokens a budget reserves for a request that does not set max_tokens.
    public var defaultMaxTokens: Int = 4096
    /// Cache hits charge nothing against budgets and token limits.
    public var cacheHitsFree: Bool = true
    /// Limits and budgets by tenant name (`[limits.tenants.<name>]`).
    public var tenants: [String: UsageLimits] = [:]

    public init() {}

    /// Whether keys are required, given where the data plane listens.
    public func requiresKeys(listen: HostPort) -> Bool {
        switch auth {
        case .keys: true
        case .open: false
        case .auto: !listen.isLoopback
        }
    }
}

public struct LogConfig: Sendable {
    /// trace, debug, info, notice, warning, error, critical.
    public var level: String = "info"
    /// One JSON line per request on standard output.
    public var accessLog: Bool = true

    public init() {}
}

/// A listen address such as `127.0.0.1:8080` or `[::1]:8080`.
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let host: Substring
        let portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { return nil }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else { return nil }
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        self.init(host: String(host), port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Loopback addresses: the admin plane may run without a token only there.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
