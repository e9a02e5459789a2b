import NIOConcurrencyHelpers
import Prometheus

/// Collectors of the tabular models: engine throughput and batching, rows served from the
/// cache, and the rolling accuracy that feedback reports. Labelled collectors are made once
/// per label set and remembered.
final class TabularMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let counters = NIOLockedValueBox([String: Counter]())
    private let gauges = NIOLockedValueBox([String: Gauge]())

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// One model's engine: what its batcher records.
    struct Engine: Sendable {
        let rows: Counter
        let batches: Counter
        let batchRows: ValueHistogram
        let batchRequests: ValueHistogram
        let seconds: DurationHistogram
        let queuedRows: Gauge

        func recordBatch(rows count: Int, requests: Int, nanoseconds: UInt64) {
            rows.increment(by: Int64(count))
            batches.increment()
            batchRows.record(Double(count))
            batchRequests.record(Double(requests))
            seconds.recordNanoseconds(Int64(nanoseconds))
        }
    }

    func engine(backend: String) -> Engine {
        let labels = [("backend", backend)]
        return Engine(
            rows: registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    metricName: "tollgate_forest_engine_rows_total", helpText: "Rows evaluated by the forest engine."),
                labels: labels),
            batches: registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    metricName: "tollgate_forest_engine_batches_total", helpText: "Batches the forest engine evaluated."),
                labels: labels),
            batchRows: registry.makeValueHistogram(
                descriptor: MetricNameDescriptor(
                    metricName: "tollgate_forest_engine_batch_rows", helpText: "Rows per evaluated batch."),
                labels: labels, buckets: [1, 2, 4, 8, 16, 64, 256, 1024, 4096, 16384, 65536]),
            batchRequests: registry.makeValueHistogram(
                descriptor: MetricNameDescriptor(
                    metricName: "tollgate_forest_engine_batch_requests", helpText: "Requests sharing one batch."),
                labels: labels, buckets: [1, 2, 3, 4, 8, 16, 32, 64]),
            seconds: registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(
                    metricName: "tollgate_forest_engine_batch_seconds", helpText: "Time to evaluate one batch."),
                labels: labels,
                buckets: [
                    .microseconds(5), .microseconds(20), .microseconds(100), .microseconds(500), .milliseconds(2),
                    .milliseconds(10), .milliseconds(50), .milliseconds(250), .seconds(1), .seconds(5),
                ]),
            queuedRows: registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    metricName: "tollgate_forest_engine_queued_rows", helpText: "Rows waiting for the forest engine."),
                labels: labels)
        )
    }

    /// Rows answered, by where the answer came from: `computed` or `cache`.
    func rows(model: String, backend: String, source: String) -> Counter {
        counter("tollgate_predict_rows_total", "Rows answered by tabular models, computed or from the cache.",
                [("model", model), ("backend", backend), ("source", source)])
    }

    /// Feedback labels received, by whether the prediction was right.
    func feedback(model: String, backend: String, correct: Bool) -> Counter {
        counter("tollgate_model_feedback_total", "True labels received for earlier predictions.",
                [("model", model), ("backend", backend), ("result", correct ? "correct" : "incorrect")])
    }

    /// Share of correct predictions among the latest feedback (classifiers).
    func accuracy(model: String, backend: String) -> Gauge {
        gauge("tollgate_model_accuracy", "Rolling accuracy over the latest feedback for a classifier.",
              [("model", model), ("backend", backend)])
    }

    /// Mean absolute error among the latest feedback (regressors).
    func meanAbsoluteError(model: String, backend: String) -> Gauge {
        gauge("tollgate_model_mean_absolute_error", "Rolling mean absolute error over the latest feedback for a regressor.",
              [("model", model), ("backend", backend)])
    }

    /// 1 while a model version is loaded, 0 after it was replaced.
    func modelLoaded(backend: String, format: String, version: String) -> Gauge {
        gauge("tollgate_forest_model_loaded", "Forest models loaded, by backend, format and version.",
              [("backend", backend), ("format", format), ("version", version)])
    }

    private func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        let key = name + labels.map { "\u{1f}" + $0.1 }.joined()
        return counters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: name, helpText: help), labels: labels)
            counters[key] = counter
            return counter
        }
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
        let key = name + labels.map { "\u{1f}" + $0.1 }.joined()
        return gauges.withLockedValue { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, helpText: help), labels: labels)
            gauges[key] = gauge
            return gauge
        }
    }
}
