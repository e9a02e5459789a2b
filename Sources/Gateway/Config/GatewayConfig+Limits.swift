import Router
import TOMLKit

extension TOMLSectionReader {
    /// `[limits]` and its `[limits.tenants.<name>]` tables.
    mutating func readLimits(_ table: TOMLTable, into limits: inout LimitsConfig) {
        expectOnly(
            table, keys: ["auth", "keys_path", "ledger_path", "default_max_tokens", "cache_hits_free", "tenants"],
            at: "limits")
        var auth: String?
        string(table, "auth", at: "limits") { auth = $0 }
        if let auth {
            if let mode = LimitsConfig.Auth(rawValue: auth) {
                limits.auth = mode
            } else {
                let known = LimitsConfig.Auth.allCases.map(\.rawValue).joined(separator: ", ")
                problem("limits.auth", "expected one of \(known), got '\(auth)'")
            }
        }
        string(table, "keys_path", at: "limits") { limits.keysPath = $0 }
        string(table, "ledger_path", at: "limits") { limits.ledgerPath = $0 }
        int(table, "default_max_tokens", at: "limits", range: 1...(1 << 24)) { limits.defaultMaxTokens = $0 }
        bool(table, "cache_hits_free", at: "limits") { limits.cacheHitsFree = $0 }
        guard let tenants = section(table, "tenants") else { return }
        for name in tenants.keys.sorted() {
            let at = "limits.tenants.\(name)"
            guard let tenant = tenants[name]?.table else {
                problem(at, "expected a table of limits ([\(at)])")
                continue
            }
            limits.tenants[name] = readUsageLimits(tenant, at: at)
        }
    }

    /// rpm, tpm, budgets = [{ usd, period, rolling }], soft_threshold.
    mutating func readUsageLimits(_ table: TOMLTable, at: String) -> UsageLimits {
        var limits = UsageLimits()
        expectOnly(table, keys: ["rpm", "tpm", "budgets", "soft_threshold"], at: at)
        int(table, "rpm", at: at, range: 1...(1 << 40)) { limits.requestsPerMinute = $0 }
        int(table, "tpm", at: at, range: 1...(1 << 40)) { limits.tokensPerMinute = $0 }
        if let value = table["soft_threshold"] {
            if let number = value.double ?? value.int.map(Double.init), number > 0, number <= 1 {
                limits.softThreshold = number
            } else {
                problem("\(at).soft_threshold", "expected a number in (0, 1], the share of a budget that raises the alert")
            }
        }
        guard let value = table["budgets"] else { return limits }
        guard let array = value.array else {
            problem("\(at).budgets", "expected an array of { usd = N, period = \"day\" } tables")
            return limits
        }
        for (index, element) in array.enumerated() {
            let path = "\(at).budgets[\(index)]"
            guard let budget = element.table else {
                problem(path, "expected a table { usd = N, period = \"day\" }")
                continue
            }
            expectOnly(budget, keys: ["usd", "period", "rolling"], at: path)
            guard let usd = budget["usd"].flatMap({ $0.double ?? $0.int.map(Double.init) }), usd > 0, usd.isFinite else {
                problem("\(path).usd", "expected a positive number of US dollars")
                continue
            }
            let known = BudgetWindow.allCases.map(\.rawValue).joined(separator: ", ")
            guard let text = budget["period"]?.string, let period = BudgetWindow(rawValue: text) else {
                problem("\(path).period", "expected one of \(known)")
                continue
            }
            var rolling = false
            bool(budget, "rolling", at: path) { rolling = $0 }
            limits.budgets.append(BudgetLimit(usd: usd, period: period, rolling: rolling))
        }
        return limits
    }
}
