import LocalModels
import Prometheus

/// Collectors of one local embedding model's engine: requests by result, texts and tokens
/// embedded, and the engine's throughput over the time it was busy.
struct EncoderMetrics: Sendable {
    let texts: Counter
    let tokens: Counter
    let textsPerSecond: Gauge
    let queued: Gauge
    let completed: Counter
    let failed: Counter
    let rejected: Counter

    init(registry: PrometheusCollectorRegistry, backend: String) {
        let labels = [("backend", backend)]
        func counter(_ name: String, _ help: String, _ extra: [(String, String)] = []) -> Counter {
            registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, helpText: help), labels: labels + extra)
        }
        texts = counter("tollgate_embed_texts_total", "Texts embedded by the local encoder.")
        tokens = counter("tollgate_embed_tokens_total", "Tokens of the texts embedded by the local encoder.")
        func gauge(_ name: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, helpText: help), labels: labels)
        }
        textsPerSecond = gauge(
            "tollgate_embed_texts_per_second", "Texts per second of the local encoder while busy (tokenising and encoding).")
        queued = gauge("tollgate_embed_queued_requests", "Requests waiting for the local encoder.")
        let help = "Local encoder requests by result."
        completed = counter("tollgate_embed_requests_total", help, [("result", "completed")])
        failed = counter("tollgate_embed_requests_total", help, [("result", "failed")])
        rejected = counter("tollgate_embed_requests_total", help, [("result", "rejected")])
    }

    func record(_ result: EmbeddingResult, statistics: EmbeddingStatistics) {
        completed.increment()
        texts.increment(by: Int64(result.vectors.count))
        tokens.increment(by: Int64(result.promptTokens))
        observe(statistics)
    }

    func observe(_ statistics: EmbeddingStatistics) {
        textsPerSecond.record(statistics.textsPerSecond)
        queued.record(Int64(statistics.queued))
    }
}
