import Cache
import Foundation
import Logging
import NIOHTTP1
import Router

/// The admin plane's operations, independent of the socket that carries them.
final class AdminAPI: Sendable {
    let pipeline: InferencePipeline
    let metrics: GatewayMetrics
    let policies: PolicyStore
    let logger: Logger

    init(pipeline: InferencePipeline, metrics: GatewayMetrics, policies: PolicyStore, logger: Logger) {
        self.pipeline = pipeline
        self.metrics = metrics
        self.policies = policies
        self.logger = logger
    }

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType: String = "application/json"
        var body: [UInt8]

        static func json(_ object: Any, status: HTTPResponseStatus = .ok) -> Response {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            return Response(status: status, body: Array(data))
        }

        static func error(_ error: GatewayError) -> Response {
            Response(status: error.status, body: error.body)
        }
    }

    func handle(method: HTTPMethod, path: String, query: [String: String], body: [UInt8]) async -> Response {
        let segments = path.split(separator: "/").map(String.init)
        switch (method, segments) {
        case (.GET, ["metrics"]):
            refreshGauges()
            return Response(
                status: .ok,
                contentType: "text/plain; version=0.0.4; charset=utf-8",
                body: metrics.registry.emitToBuffer()
            )
        case (.GET, ["admin", "health"]), (.GET, ["healthz"]):
            return .json(["status": "ok"])
        case (.GET, ["admin", "cache", "stats"]):
            return await cacheStats()
        case (.POST, ["admin", "cache", "purge"]):
            return await purge(body: body)
        case (.DELETE, ["admin", "cache"]):
            return await purge(selector: PurgeSelector())
        case (.GET, ["admin", "cache", "entries"]):
            return await listEntries(query: query)
        case (.GET, let parts) where parts.count == 4 && parts[0] == "admin" && parts[1] == "cache" && parts[2] == "entries":
            return await inspect(keyHex: parts[3])
        case (.DELETE, let parts) where parts.count == 4 && parts[0] == "admin" && parts[1] == "cache" && parts[2] == "entries":
            guard let key = CacheKey(hex: parts[3]) else { return .error(.badRequest("'\(parts[3])' is not a 64-hex cache key.")) }
            return await purge(selector: PurgeSelector(key: key))
        case (.GET, ["admin", "policies"]):
            return showPolicies()
        case (.POST, ["admin", "policies", "reload"]):
            return reloadPolicies()
        case (.POST, ["admin", "keys"]):
            return await createKey(body: body)
        case (.GET, ["admin", "keys"]):
            return listKeys()
        case (.GET, let parts) where parts.count == 3 && parts[0] == "admin" && parts[1] == "keys":
            return showKey(id: parts[2])
        case (.DELETE, let parts) where parts.count == 3 && parts[0] == "admin" && parts[1] == "keys":
            return await revokeKey(id: parts[2])
        case (.POST, let parts) where parts.count == 4 && parts[0] == "admin" && parts[1] == "keys" && parts[3] == "revoke":
            return await revokeKey(id: parts[2])
        case (.GET, ["admin", "spend"]):
            return await spend(query: query)
        case (.POST, ["admin", "spend", "reset"]):
            return await resetSpend(body: body)
        default:
            return .error(.notFound("Unknown admin path \(method.rawValue) \(path).", code: "unknown_url"))
        }
    }

    // MARK: Cache

    private func cacheStats() async -> Response {
        guard let cache = pipeline.cache else {
            return .json(["enabled": false])
        }
        do {
            let stats = try await pipeline.threadPool.runIfActive { try cache.stats() }
            var object: [String: Any] = [
                "enabled": true,
                "memory": [
                    "entries": stats.memory.entries,
                    "bytes": stats.memory.bytes,
                    "capacity_bytes": stats.memory.capacityBytes,
                    "hits": stats.memory.hits,
                    "misses": stats.memory.misses,
                    "evictions": stats.memory.evictions,
                    "expirations": stats.memory.expirations,
                    "admissions_rejected": stats.memory.admissionsRejected,
                ],
                "inflight": pipeline.flights.count,
            ]
            if let disk = stats.disk {
                object["disk"] = ["entries": disk.entries, "bytes": disk.bytes, "max_bytes": disk.maxBytes]
            } else {
                object["disk"] = NSNull()
            }
            return .json(object)
        } catch {
            return .error(GatewayError(status: .internalServerError, message: "Cache stats failed: \(error)", code: "internal_error"))
        }
    }

    private func purge(body: [UInt8]) async -> Response {
        let selector: PurgeSelector
        do {
            selector = try Self.selector(fromJSON: body)
        } catch {
            return .error(error)
        }
        return await purge(selector: selector)
    }

    private func purge(selector: PurgeSelector) async -> Response {
        guard let cache = pipeline.cache else { return .json(["purged": 0]) }
        // A disk write queued before this purge must not bring a purged entry back.
        await pipeline.diskWrites.waitForWritesInFlight()
        do {
            let now = Clock.wallNow()
            let count = try await pipeline.threadPool.runIfActive { try cache.purge(selector, now: now) }
            logger.info("cache purge", metadata: ["tollgate.selector": "\(selector)", "tollgate.purged": "\(count)"])
            return .json(["purged": count])
        } catch {
            return .error(GatewayError(status: .internalServerError, message: "Purge failed: \(error)", code: "internal_error"))
        }
    }

    private func listEntries(query: [String: String]) async -> Response {
        guard let cache = pipeline.cache else { return .json(["entries": [Any]()]) }
        let selector: PurgeSelector
        do {
            selector = try Self.selector(fromQuery: query)
        } catch {
            return .error(error)
        }
        let limit = query["limit"].flatMap(Int.init).map { min(max($0, 1), 10_000) } ?? 100
        do {
            let now = Clock.wallNow()
            let listed = try await pipeline.threadPool.runIfActive { () throws -> [(EntryMetadata, Int)] in
                try cache.list(selector, now: now, limit: limit).map { metadata in
                    (metadata, try cache.inspect(metadata.key, now: now)?.byteCount ?? 0)
                }
            }
            let described = listed.map { metadata, bytes in
                var object = Self.describe(metadata, now: now)
                object["bytes"] = bytes
                return object
            }
            return .json(["entries": described])
        } catch {
            return .error(GatewayError(status: .internalServerError, message: "Listing failed: \(error)", code: "internal_error"))
        }
    }

    private func inspect(keyHex: String) async -> Response {
        guard let key = CacheKey(hex: keyHex) else {
            return .error(.badRequest("'\(keyHex)' is not a 64-hex cache key.", code: "invalid_key"))
        }
        guard let cache = pipeline.cache else { return .error(.notFound("The cache is disabled.")) }
        do {
            let now = Clock.wallNow()
            guard let entry = try await pipeline.threadPool.runIfActive({ try cache.inspect(key, now: now) }) else {
                return .error(.notFound("No cache entry \(keyHex).", code: "entry_not_found"))
            }
            var object = Self.describe(entry.metadata, now: now)
            object["status"] = entry.status
            object["content_type"] = entry.contentType
            object["bytes"] = entry.byteCount
            object["events"] = entry.events?.count ?? 0
            object["body"] = (try? JSONSerialization.jsonObject(with: Data(entry.body), options: [.fragmentsAllowed]))
                ?? String(decoding: entry.body, as: UTF8.self)
            return .json(object)
        } catch {
            return .error(GatewayError(status: .internalServerError, message: "Inspect failed: \(error)", code: "internal_error"))
        }
    }

    static func describe(_ metadata: EntryMetadata, now: Double) -> [String: Any] {
        [
            "key": metadata.key.hex,
            "tenant": metadata.tenant,
            "route": metadata.route,
            "endpoint": metadata.endpoint,
            "model": metadata.model,
            "created_at": metadata.createdAt,
            "expires_at": metadata.expiresAt,
            "age": Int(metadata.age(now: now)),
            "ttl": Int(metadata.ttl(now: now)),
            "tags": metadata.tags,
        ]
    }

    static let selectorFields = ["all", "model", "route", "tenant", "endpoint", "key", "key_prefix", "tag", "older_than"]

    static func selector(fromJSON body: [UInt8]) throws(GatewayError) -> PurgeSelector {
        if body.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) {
            throw .badRequest("Give a selector: {\"all\": true} or any of \(selectorFields.dropFirst().joined(separator: ", ")).")
        }
        guard case .object(let object)? = try? JSONParser.parse(body) else {
            throw .badRequest("The purge selector must be a JSON object.", code: "invalid_json")
        }
        var fields: [String: String] = [:]
        for key in object.keys {
            guard selectorFields.contains(key) else {
                throw .badRequest("Unknown selector field '\(key)'; expected one of \(selectorFields.joined(separator: ", ")).", param: key)
            }
            switch object[key]! {
            case .string(let text): fields[key] = text
            case .number(let text): fields[key] = text
            case .bool(let flag): fields[key] = flag ? "true" : "false"
            default: throw .badRequest("Selector field '\(key)' must be a string or number.", param: key)
            }
        }
        if fields.isEmpty || (fields.count == 1 && fields["all"] == "false") {
            throw .badRequest("An empty selector would purge everything; say {\"all\": true} to mean that.")
        }
        return try selector(fromQuery: fields)
    }

    static func selector(fromQuery query: [String: String]) throws(GatewayError) -> PurgeSelector {
        var selector = PurgeSelector()
        selector.model = query["model"]
        selector.route = query["route"]
        selector.tenant = query["tenant"]
        selector.endpoint = query["endpoint"]
        selector.tag = query["tag"]
        if let text = query["key"] {
            guard let key = CacheKey(hex: text) else { throw .badRequest("'key' must be 64 hex characters.", param: "key") }
            selector.key = key
        }
        if let prefix = query["key_prefix"] {
            guard !prefix.isEmpty, prefix.allSatisfy(\.isHexDigit) else {
                throw .badRequest("'key_prefix' must be hex.", param: "key_prefix")
            }
            selector.keyPrefix = prefix.lowercased()
        }
        if let text = query["older_than"] {
            guard let seconds = Double(text), seconds >= 0 else {
                throw .badRequest("'older_than' must be a number of seconds.", param: "older_than")
            }
            selector.olderThan = seconds
        }
        return selector
    }

    // MARK: Policies

    private func showPolicies() -> Response {
        let table = policies.table
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(table) else {
            return .error(GatewayError(status: .internalServerError, message: "Cannot describe the routing table.", code: "internal_error"))
        }
        return Response(status: .ok, body: Array(data))
    }

    private func reloadPolicies() -> Response {
        switch policies.reload() {
        case .success(let table):
            metrics.policyReloads.increment()
            logger.info("policies reloaded", metadata: ["tollgate.routes": "\(table.routes.count)"])
            return .json(["status": "reloaded", "routes": table.routes.count])
        case .failure(let errors):
            metrics.policyReloadFailures.increment()
            logger.error("policy reload rejected; the previous table keeps serving", metadata: ["tollgate.errors": "\(errors)"])
            let list: [[String: Any]] = errors.problems.map { problem in
                ["file": problem.file, "line": problem.line.map { $0 as Any } ?? NSNull(), "key": problem.key, "reason": problem.reason,
                 "message": problem.description]
            }
            return .json(
                [
                    "error": [
                        "message": "Policy reload rejected; the previous routing table keeps serving.\n\(errors)",
                        "type": "invalid_request_error", "param": NSNull(), "code": "invalid_policy",
                    ] as [String: Any],
                    "errors": list,
                ],
                status: .badRequest
            )
        }
    }

    func refreshGauges() {
        guard let cache = pipeline.cache else { return }
        let memory = cache.memory.stats
        metrics.cacheEntries.set(Double(memory.entries))
        metrics.cacheBytes.set(Double(memory.bytes))
        metrics.cacheEvictions.set(Double(memory.evictions))
        metrics.inflight.set(Double(pipeline.flights.count))
    }
}
