import NIOConcurrencyHelpers
import Prometheus

/// Spend, savings and refusals: `tollgate_cost_usd_total` and `tollgate_saved_usd_total` by key,
/// tenant and route; rejections by limit; budgets past their soft threshold.
final class LimitMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let authFailures: Counter
    let modelRefusals: Counter
    let ledgerErrors: Counter
    private let costCounters = NIOLockedValueBox([String: Counter]())
    private let savedCounters = NIOLockedValueBox([String: Counter]())
    private let rejections = NIOLockedValueBox([String: Counter]())
    private let alerts = NIOLockedValueBox([String: Gauge]())

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        authFailures = registry.makeCounter(
            name: "tollgate_auth_failures_total", help: "Requests refused for a missing, unknown or revoked key.")
        modelRefusals = registry.makeCounter(
            name: "tollgate_model_refusals_total", help: "Requests refused because the key may not use the model.")
        ledgerErrors = registry.makeCounter(
            name: "tollgate_ledger_errors_total", help: "Settled requests whose spend could not be written to the ledger.")
    }

    func spent(_ amount: Double, keyID: String, tenant: String, route: String) {
        counter(costCounters, "tollgate_cost_usd_total", "USD spent on backend calls.", keyID, tenant, route)
            .increment(by: amount)
    }

    func saved(_ amount: Double, keyID: String, tenant: String, route: String) {
        counter(savedCounters, "tollgate_saved_usd_total", "USD that cache hits and collapsed requests saved.", keyID, tenant, route)
            .increment(by: amount)
    }

    private func counter(
        _ box: NIOLockedValueBox<[String: Counter]>, _ name: String, _ help: String, _ keyID: String, _ tenant: String,
        _ route: String
    ) -> Counter {
        let label = keyID + "\u{1f}" + tenant + "\u{1f}" + route
        return box.withLockedValue { counters in
            if let counter = counters[label] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: name, helpText: help),
                labels: [("key", keyID.isEmpty ? "-" : keyID), ("tenant", tenant), ("route", route)])
            counters[label] = counter
            return counter
        }
    }

    /// `limit`: requests, tokens or budget.
    func rejected(limit: String, subject: LimitSubject.Kind) {
        let label = limit + "\u{1f}" + subject.rawValue
        rejections.withLockedValue { counters in
            if let counter = counters[label] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    metricName: "tollgate_limit_rejections_total", helpText: "Requests refused by a rate limit or budget."),
                labels: [("limit", limit), ("subject", subject.rawValue)])
            counters[label] = counter
            return counter
        }.increment()
    }

    /// Raises the alert for a budget whose spend passed its soft threshold.
    func budgetAlert(_ budget: String) {
        alerts.withLockedValue { gauges in
            if let gauge = gauges[budget] { return gauge }
            let gauge = registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    metricName: "tollgate_budget_alert", helpText: "1 when a budget's spend has passed its soft threshold."),
                labels: [("budget", budget)])
            gauges[budget] = gauge
            return gauge
        }.set(Double(1))
    }

    /// Clears the alert after a reset.
    func clearAlerts(prefix: String) {
        alerts.withLockedValue { gauges in
            for (name, gauge) in gauges where name.hasPrefix(prefix) { gauge.set(Double(0)) }
        }
    }
}
