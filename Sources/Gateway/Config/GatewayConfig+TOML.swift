import Foundation
import Router
import TOMLKit

extension GatewayConfig {
    /// Reads `config.toml` text. Every problem is collected, each with the file, line and key.
    /// `lineOf` maps a dotted key path to the line it is defined on, for messages.
    public static func parse(
        text: String,
        path: String,
        lineOf: @escaping (String) -> Int? = { _ in nil }
    ) throws(ConfigErrors) -> GatewayConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigErrors([
                ConfigProblem(file: path, line: error.source.begin.line, key: "", reason: error.description)
            ])
        } catch {
            throw ConfigErrors([ConfigProblem(file: path, line: nil, key: "", reason: "\(error)")])
        }

        var reader = TOMLSectionReader(file: path, lineOf: lineOf)
        var config = GatewayConfig()
        config.sourcePath = path
        reader.expectOnly(table, keys: ["server", "cache", "log", "limits"], at: "")

        if let server = reader.section(table, "server") {
            reader.expectOnly(
                server,
                keys: [
                    "listen", "admin_listen", "admin_token", "threads", "max_body_bytes", "max_header_bytes",
                    "idle_timeout_seconds", "request_timeout_seconds", "shutdown_grace_seconds", "policies_dir",
                    "watch_policies",
                ],
                at: "server"
            )
            reader.hostPort(server, "listen", at: "server") { config.server.listen = $0 }
            reader.hostPort(server, "admin_listen", at: "server") { config.server.adminListen = $0 }
            reader.string(server, "admin_token", at: "server") { config.server.adminToken = $0 }
            reader.int(server, "threads", at: "server", range: 0...256) { config.server.threads = $0 }
            reader.int(server, "max_body_bytes", at: "server", range: 1024...(1 << 32)) {
                config.server.maxBodyBytes = $0
            }
            reader.int(server, "max_header_bytes", at: "server", range: 1024...(1 << 24)) {
                config.server.maxHeaderBytes = $0
            }
            reader.seconds(server, "idle_timeout_seconds", at: "server") { config.server.idleTimeoutSeconds = $0 }
            reader.seconds(server, "request_timeout_seconds", at: "server") {
                config.server.requestTimeoutSeconds = $0
            }
            reader.seconds(server, "shutdown_grace_seconds", at: "server") {
                config.server.shutdownGraceSeconds = $0
            }
            reader.string(server, "policies_dir", at: "server") { config.server.policiesDir = $0 }
            reader.bool(server, "watch_policies", at: "server") { config.server.watchPolicies = $0 }
        }

        if let cache = reader.section(table, "cache") {
            reader.expectOnly(
                cache,
                keys: [
                    "enabled", "memory_bytes", "default_ttl_seconds", "max_entry_bytes", "disk_path", "disk_max_bytes",
                    "prefix_index_bytes", "semantic_index_entries",
                ],
                at: "cache"
            )
            reader.bool(cache, "enabled", at: "cache") { config.cache.enabled = $0 }
            reader.int(cache, "memory_bytes", at: "cache", range: 0...(1 << 40)) { config.cache.memoryBytes = $0 }
            reader.seconds(cache, "default_ttl_seconds", at: "cache") { config.cache.defaultTTLSeconds = $0 }
            reader.int(cache, "max_entry_bytes", at: "cache", range: 1...(1 << 32)) {
                config.cache.maxEntryBytes = $0
            }
            reader.string(cache, "disk_path", at: "cache") { config.cache.diskPath = $0 }
            reader.int(cache, "disk_max_bytes", at: "cache", range: 0...(1 << 50)) { config.cache.diskMaxBytes = $0 }
            reader.int(cache, "prefix_index_bytes", at: "cache", range: 0...(1 << 40)) {
                config.cache.prefixIndexBytes = $0
            }
            reader.int(cache, "semantic_index_entries", at: "cache", range: 0...(1 << 30)) {
                config.cache.semanticIndexEntries = $0
            }
        }

        if let log = reader.section(table, "log") {
            reader.expectOnly(log, keys: ["level", "access_log"], at: "log")
            var level: String?
            reader.string(log, "level", at: "log") { level = $0 }
            if let level {
                let known = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
                if known.contains(level) {
                    config.log.level = level
                } else {
                    reader.problem("log.level", "expected one of \(known.joined(separator: ", ")), got '\(level)'")
                }
            }
            reader.bool(log, "access_log", at: "log") { config.log.accessLog = $0 }
        }

        if let limits = reader.section(table, "limits") {
            reader.readLimits(limits, into: &config.limits)
        }

        if !reader.problems.isEmpty { throw ConfigErrors(reader.problems) }
        return config
    }

    /// Reads and validates a config file.
    public static func load(path: String) throws(ConfigErrors) -> GatewayConfig {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigErrors([ConfigProblem(file: path, line: nil, key: "", reason: "cannot read the config file")])
        }
        return try load(text: text, path: path)
    }

    /// Validates config text, locating problems by line.
    public static func load(text: String, path: String) throws(ConfigErrors) -> GatewayConfig {
        let locator = TOMLLineLocator(text: text)
        return try parse(text: text, path: path, lineOf: { locator.nearestLine(for: $0) })
    }

    /// Resolves a path given in the config relative to the config file's folder.
    public func resolve(_ relative: String) -> String {
        if relative.hasPrefix("/") { return relative }
        let base = sourcePath.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? "."
        return URL(fileURLWithPath: base).appendingPathComponent(relative).standardizedFileURL.path
    }
}

/// Typed reads from a TOML table that record a located problem instead of throwing.
struct TOMLSectionReader {
    let file: String
    let lineOf: (String) -> Int?
    var problems: [ConfigProblem] = []

    init(file: String, lineOf: @escaping (String) -> Int?) {
        self.file = file
        self.lineOf = lineOf
    }

    mutating func problem(_ key: String, _ reason: String) {
        problems.append(ConfigProblem(file: file, line: lineOf(key), key: key, reason: reason))
    }

    private func join(_ at: String, _ key: String) -> String { at.isEmpty ? key : "\(at).\(key)" }

    mutating func section(_ table: TOMLTable, _ key: String) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let section = value.table else {
            problem(key, "expected a table ([\(key)])")
            return nil
        }
        return section
    }

    mutating func expectOnly(_ table: TOMLTable, keys: [String], at: String) {
        for key in table.keys where !keys.contains(key) {
            problem(join(at, key), "unknown key; expected one of \(keys.joined(separator: ", "))")
        }
    }

    mutating func string(_ table: TOMLTable, _ key: String, at: String, _ apply: (String) -> Void) {
        guard let value = table[key] else { return }
        guard let string = value.string else { return problem(join(at, key), "expected a string") }
        apply(string)
    }

    mutating func bool(_ table: TOMLTable, _ key: String, at: String, _ apply: (Bool) -> Void) {
        guard let value = table[key] else { return }
        guard let bool = value.bool else { return problem(join(at, key), "expected true or false") }
        apply(bool)
    }

    mutating func int(_ table: TOMLTable, _ key: String, at: String, range: ClosedRange<Int>, _ apply: (Int) -> Void)
    {
        guard let value = table[key] else { return }
        guard let int = value.int else { return problem(join(at, key), "expected an integer") }
        guard range.contains(int) else {
            return problem(join(at, key), "expected an integer in \(range.lowerBound)...\(range.upperBound), got \(int)")
        }
        apply(int)
    }

    mutating func seconds(_ table: TOMLTable, _ key: String, at: String, _ apply: (Double) -> Void) {
        guard let value = table[key] else { return }
        guard let seconds = value.double ?? value.int.map(Double.init) else {
            return problem(join(at, key), "expected a number of seconds")
        }
        guard seconds > 0, seconds.isFinite else { return problem(join(at, key), "expected a positive number") }
        apply(seconds)
    }

    mutating func hostPort(_ table: TOMLTable, _ key: String, at: String, _ apply: (HostPort) -> Void) {
        var text: String?
        string(table, key, at: at) { text = $0 }
        guard let text else { return }
        guard let address = HostPort(parsing: text) else {
            return problem(join(at, key), "expected HOST:PORT such as 127.0.0.1:8080, got '\(text)'")
        }
        apply(address)
    }
}
