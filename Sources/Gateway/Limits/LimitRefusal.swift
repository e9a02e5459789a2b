import Foundation
import NIOHTTP1

/// Why admission turned a request away; each becomes a 429 that says which limit and when.
enum LimitRefusal: Error, Sendable {
    /// `unit`: "requests" or "tokens". `retryAfter` nil: the request can never fit the window.
    case rate(subject: LimitSubject, unit: String, retryAfter: Double?, status: RateWindow.Status)
    case budget(subject: LimitSubject, BudgetBook.Refusal, needed: Double)

    var isBudget: Bool {
        if case .budget = self { return true }
        return false
    }

    func error(report: RateReport) -> GatewayError {
        switch self {
        case .rate(let subject, let unit, let retryAfter, let status):
            var headers = report.headers
            headers.append(("x-tollgate-limit", subject.name + ":" + unit))
            guard let retryAfter else {
                return GatewayError(
                    status: .tooManyRequests,
                    message: "Request too large for \(unit) per minute on \(subject.phrase): it needs more than the whole limit of \(status.limit).",
                    code: "rate_limit_exceeded", headers: headers)
            }
            headers.append(("retry-after", String(max(1, Int(retryAfter.rounded(.up))))))
            headers.append(("retry-after-ms", String(max(1, Int((retryAfter * 1000).rounded(.up))))))
            return GatewayError(
                status: .tooManyRequests,
                message: "Rate limit reached for \(unit) per minute on \(subject.phrase): limit \(status.limit), remaining \(status.remaining). Try again in \(RateReport.duration(retryAfter)).",
                code: "rate_limit_exceeded", headers: headers)
        case .budget(let subject, let refusal, let needed):
            var headers = report.headers
            headers.append(("x-tollgate-budget", refusal.id.name))
            var message =
                "Budget exceeded: the \(Self.periodPhrase(refusal.id.period)) budget of \(Self.usd(refusal.id.limitUSD)) for \(subject.phrase) "
                + "has \(Self.usd(refusal.spent)) spent and \(Self.usd(refusal.reserved)) reserved; this request needs up to \(Self.usd(needed))."
            if let resetsAt = refusal.resetsAt {
                let when = Self.timestamp(resetsAt)
                message += " It resets at \(when)."
                headers.append(("x-tollgate-budget-reset", when))
                let wait = max(1, Int((resetsAt - Date().timeIntervalSince1970).rounded(.up)))
                headers.append(("retry-after", String(wait)))
            } else {
                message += " It does not reset; an admin can reset it."
            }
            return GatewayError(status: .tooManyRequests, message: message, code: "budget_exceeded", headers: headers)
        }
    }

    static func periodPhrase(_ period: BudgetPeriod) -> String {
        switch period {
        case .day: "daily"
        case .week: "weekly"
        case .month: "monthly"
        case .total: "total"
        case .rollingDay: "rolling 24-hour"
        case .rollingWeek: "rolling 7-day"
        case .rollingMonth: "rolling 30-day"
        }
    }

    static func usd(_ amount: Double) -> String { "$" + String(format: "%.6f", amount) }

    static func timestamp(_ time: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: time))
    }
}

extension GatewayError {
    static func missingKey() -> Self {
        GatewayError(
            status: .unauthorized,
            message: "Missing API key: send a virtual key as 'Authorization: Bearer tg-…' (an admin creates one with `tollgate keys create`).",
            code: "invalid_api_key", headers: [("www-authenticate", "Bearer")])
    }

    static func invalidKey(revoked: Bool) -> Self {
        GatewayError(
            status: .unauthorized,
            message: revoked ? "This API key has been revoked." : "Incorrect API key provided: it is not a virtual key of this gateway.",
            code: "invalid_api_key", headers: [("www-authenticate", "Bearer")])
    }

    static func modelNotAllowed(_ model: String, key: VirtualKey) -> Self {
        GatewayError(
            status: .forbidden,
            message: "The key \(key.id) may not use the model '\(model)' (it may use: \(key.models.joined(separator: ", "))).",
            code: "model_not_allowed", param: "model")
    }
}
