import ArgumentParser
import Foundation
import Gateway

/// Where a running gateway's admin API is.
struct AdminOptions: ParsableArguments {
    @Option(name: .customLong("admin"), help: "Admin API base URL.")
    var admin: String = ProcessInfo.processInfo.environment["TOLLGATE_ADMIN_URL"] ?? "http://127.0.0.1:8081"

    @Option(name: .long, help: "Admin bearer token (default: $TOLLGATE_ADMIN_TOKEN).")
    var token: String? = ProcessInfo.processInfo.environment["TOLLGATE_ADMIN_TOKEN"]

    func call(_ method: String, _ path: String, body: [UInt8]? = nil) async throws {
        let client = AdminClient(baseURL: admin, token: token)
        let response: (status: Int, body: [UInt8])
        do {
            response = try await client.send(method: method, path: path, body: body)
        } catch {
            FileHandle.standardError.write(Data("tollgate: cannot reach the admin API at \(admin): \(error)\n".utf8))
            throw ExitCode(2)
        }
        FileHandle.standardOutput.write(Data(response.body))
        FileHandle.standardOutput.write(Data("\n".utf8))
        if !(200..<300).contains(response.status) { throw ExitCode(1) }
    }
}

struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Inspect and purge the response cache of a running gateway.",
        subcommands: [Stats.self, Purge.self, List.self, Inspect.self]
    )

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show cache statistics.")
        @OptionGroup var options: AdminOptions
        func run() async throws { try await options.call("GET", "/admin/cache/stats") }
    }

    /// Selector flags shared by purge and list.
    struct Selector: ParsableArguments {
        @Option(help: "Model name or glob.") var model: String?
        @Option(help: "Route name.") var route: String?
        @Option(help: "Tenant.") var tenant: String?
        @Option(help: "Endpoint kind: chat, completion, embedding.") var endpoint: String?
        @Option(help: "Exact cache key (64 hex).") var key: String?
        @Option(name: .customLong("key-prefix"), help: "Cache key hex prefix.") var keyPrefix: String?
        @Option(help: "Tag.") var tag: String?
        @Option(name: .customLong("older-than"), help: "Only entries at least this many seconds old.") var olderThan: Double?

        var fields: [(String, String)] {
            var out: [(String, String)] = []
            if let model { out.append(("model", model)) }
            if let route { out.append(("route", route)) }
            if let tenant { out.append(("tenant", tenant)) }
            if let endpoint { out.append(("endpoint", endpoint)) }
            if let key { out.append(("key", key)) }
            if let keyPrefix { out.append(("key_prefix", keyPrefix)) }
            if let tag { out.append(("tag", tag)) }
            if let olderThan { out.append(("older_than", String(olderThan))) }
            return out
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Purge entries; prints {\"purged\": N}.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var selector: Selector
        @Flag(help: "Purge every entry.") var all = false

        func validate() throws {
            if !all, selector.fields.isEmpty { throw ValidationError("give --all or at least one selector flag") }
        }

        func run() async throws {
            var object: [String: Any] = [:]
            if all { object["all"] = true }
            for (name, value) in selector.fields {
                object[name] = name == "older_than" ? (Double(value) ?? 0) as Any : value
            }
            let body = try JSONSerialization.data(withJSONObject: object)
            try await options.call("POST", "/admin/cache/purge", body: Array(body))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List entries (newest first).")
        @OptionGroup var options: AdminOptions
        @OptionGroup var selector: Selector
        @Option(help: "At most this many.") var limit: Int = 100

        func run() async throws {
            var query = selector.fields + [("limit", String(limit))]
            query = query.map { ($0.0, $0.1.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0.1) }
            try await options.call("GET", "/admin/cache/entries?" + query.map { "\($0.0)=\($0.1)" }.joined(separator: "&"))
        }
    }

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one entry with its body.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Cache key (64 hex).") var key: String
        func run() async throws { try await options.call("GET", "/admin/cache/entries/\(key)") }
    }
}

struct PoliciesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policies",
        abstract: "Show or reload the routing table of a running gateway.",
        subcommands: [Show.self, Reload.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the effective routing table.")
        @OptionGroup var options: AdminOptions
        func run() async throws { try await options.call("GET", "/admin/policies") }
    }

    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reload the policy files.")
        @OptionGroup var options: AdminOptions
        func run() async throws { try await options.call("POST", "/admin/policies/reload") }
    }
}
