extension PolicyFileReader {
    static let limitKeys = ["rpm", "tpm", "budgets", "soft_threshold"]
    static let budgetKeys = ["usd", "period", "rolling"]

    /// `limits = { rpm, tpm, budgets = [{ usd, period, rolling }, ...], soft_threshold }`.
    func readLimits(_ table: TableReader) -> UsageLimits {
        table.checkKeys(Self.limitKeys)
        var limits = UsageLimits()
        limits.requestsPerMinute = table.integer("rpm", in: 1...Int.max)
        limits.tokensPerMinute = table.integer("tpm", in: 1...Int.max)
        limits.budgets = readBudgets(table)
        if let node = table.node("soft_threshold") {
            if let value = node.number, value.isFinite {
                if value > 0, value <= 1 {
                    limits.softThreshold = value
                } else {
                    table.invalid("soft_threshold", "must be greater than 0 and at most 1 (a share of the budget)")
                }
            } else {
                table.wrongType("soft_threshold", expected: "a number", got: node)
            }
        }
        return limits
    }

    private func readBudgets(_ table: TableReader) -> [BudgetLimit] {
        guard let node = table.node("budgets") else { return [] }
        let expected = "an array of { usd = N, period = \"day\" } tables"
        guard case .array(let elements) = node else {
            table.wrongType("budgets", expected: expected, got: node)
            return []
        }
        var budgets: [BudgetLimit] = []
        let arrayPath = table.path.appending("budgets")
        for (index, element) in elements.enumerated() {
            let path = arrayPath.appending(index: index)
            guard case .table(let entries) = element else {
                diagnostics.report(
                    .wrongType,
                    at: arrayPath,
                    line: path,
                    "expected \(expected), but element \(index) is \(element.typeDescription)"
                )
                continue
            }
            if let budget = readBudget(TableReader(path: path, entries: entries, diagnostics: diagnostics)) {
                budgets.append(budget)
            }
        }
        return budgets
    }

    private func readBudget(_ entry: TableReader) -> BudgetLimit? {
        entry.checkKeys(Self.budgetKeys)
        let usd = entry.number("usd")
        if !entry.has("usd") { entry.missing("usd", "a budget needs usd, the dollars it allows per period") }
        var period: BudgetWindow?
        if let word = entry.string("period") {
            period = BudgetWindow(rawValue: word)
            if period == nil {
                let expected = BudgetWindow.allCases.map(\.rawValue).joined(separator: ", ")
                entry.invalid("period", "unknown period '\(word)'; expected one of \(expected)")
            }
        } else if !entry.has("period") {
            entry.missing("period", "a budget needs a period: day, week, month or total")
        }
        let rolling = entry.bool("rolling") ?? false
        guard let usd, let period else { return nil }
        return BudgetLimit(usd: usd, period: period, rolling: rolling)
    }
}
