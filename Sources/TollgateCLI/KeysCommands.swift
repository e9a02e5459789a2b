import ArgumentParser
import Foundation

/// `tollgate keys …`: virtual keys of a running gateway, through its admin API.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list, show and revoke virtual API keys of a running gateway.",
        subcommands: [Create.self, List.self, Show.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key; prints JSON with the new `key` (shown only this once).")
        @OptionGroup var options: AdminOptions
        @Option(help: "Tenant the key belongs to (cache scope, budgets, logs).") var tenant: String
        @Option(help: "Models or globs the key may use, comma-separated (default: all).") var models: String?
        @Option(help: "Requests per minute.") var rpm: Int?
        @Option(help: "Tokens per minute.") var tpm: Int?
        @Option(name: .customLong("budget-usd"), help: "A USD budget for the key.") var budgetUSD: Double?
        @Option(help: "The budget's period: day, week, month or total.") var period: String = "month"
        @Flag(help: "A rolling window (the last 24 h, 7 d or 30 d) instead of the calendar period (UTC).")
        var rolling = false
        @Option(name: .customLong("soft-threshold"), help: "Share of the budget (0-1] that raises the alert metric.")
        var softThreshold: Double?

        func validate() throws {
            guard ["day", "week", "month", "total"].contains(period) else {
                throw ValidationError("--period must be day, week, month or total")
            }
            if let rpm, rpm <= 0 { throw ValidationError("--rpm must be positive") }
            if let tpm, tpm <= 0 { throw ValidationError("--tpm must be positive") }
            if let budgetUSD, budgetUSD <= 0 { throw ValidationError("--budget-usd must be positive") }
        }

        func run() async throws {
            var object: [String: Any] = ["tenant": tenant]
            if let models {
                object["models"] = models.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            if let rpm { object["rpm"] = rpm }
            if let tpm { object["tpm"] = tpm }
            if let budgetUSD { object["budgets"] = [["usd": budgetUSD, "period": period, "rolling": rolling]] }
            if let softThreshold { object["soft_threshold"] = softThreshold }
            let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            try await options.call("POST", "/admin/keys", body: Array(body))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every key (never the secret).")
        @OptionGroup var options: AdminOptions
        func run() async throws { try await options.call("GET", "/admin/keys") }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a key with its spend, remaining budget and limits.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Key id (vk_…).") var id: String
        func run() async throws { try await options.call("GET", "/admin/keys/\(id)") }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: its next request gets 401.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Key id (vk_…).") var id: String
        func run() async throws { try await options.call("DELETE", "/admin/keys/\(id)") }
    }
}

/// `tollgate spend …`: spend, remaining budgets and limits per key, tenant or route.
struct SpendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spend",
        abstract: "Show spend and remaining budgets, or reset a budget, on a running gateway.",
        subcommands: [Show.self, Reset.self],
        defaultSubcommand: Show.self
    )

    struct Subject: ParsableArguments {
        @Option(help: "Virtual key id (vk_…).") var key: String?
        @Option(help: "Tenant name.") var tenant: String?
        @Option(help: "Route name.") var route: String?

        var field: (String, String)? {
            if let key { return ("key", key) }
            if let tenant { return ("tenant", tenant) }
            if let route { return ("route", route) }
            return nil
        }

        var count: Int { [key, tenant, route].compactMap { $0 }.count }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Spend by key, tenant and route; with a subject, its budgets and rate limits.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var subject: Subject

        func validate() throws {
            if subject.count > 1 { throw ValidationError("give at most one of --key, --tenant, --route") }
        }

        func run() async throws {
            guard let (name, value) = subject.field else { return try await options.call("GET", "/admin/spend") }
            let encoded = value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? value
            try await options.call("GET", "/admin/spend?\(name)=\(encoded)")
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Zero a key's, tenant's or route's budgets from now on.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var subject: Subject

        func validate() throws {
            if subject.count != 1 { throw ValidationError("give exactly one of --key, --tenant, --route") }
        }

        func run() async throws {
            guard let (name, value) = subject.field else { return }
            let body = try JSONSerialization.data(withJSONObject: [name: value])
            try await options.call("POST", "/admin/spend/reset", body: Array(body))
        }
    }
}
