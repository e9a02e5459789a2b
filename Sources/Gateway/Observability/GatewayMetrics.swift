import NIOConcurrencyHelpers
import Prometheus

/// The gateway's Prometheus collectors. Labelled counters are looked up once per label set
/// and remembered, so the hot path pays a dictionary lookup, not a registry walk.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let requestCounters = NIOLockedValueBox([RequestLabels: Counter]())
    private let latencyHistograms = NIOLockedValueBox([String: DurationHistogram]())
    private let upstreamErrorCounters = NIOLockedValueBox([String: Counter]())

    public let cacheHits: Counter
    public let cachePrefixHits: Counter
    public let cacheSemanticHits: Counter
    public let cacheMisses: Counter
    public let cacheStores: Counter
    public let cacheCollapsed: Counter
    public let cacheEntries: Gauge
    public let cacheBytes: Gauge
    public let cacheEvictions: Gauge
    public let diskEntries: Gauge
    public let diskBytes: Gauge
    public let inflight: Gauge
    public let policyReloads: Counter
    public let policyReloadFailures: Counter
    let tabular: TabularMetrics
    let limits: LimitMetrics

    struct RequestLabels: Hashable {
        var route: String
        var status: Int
        var cache: String
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        tabular = TabularMetrics(registry: registry)
        limits = LimitMetrics(registry: registry)
        cacheHits = registry.makeCounter(name: "tollgate_cache_hits_total", help: "Responses served from the cache.")
        cachePrefixHits = registry.makeCounter(
            name: "tollgate_cache_prefix_hits_total",
            help: "Deterministic local completions answered from a cached completion that holds them (included in hits)."
        )
        cacheSemanticHits = registry.makeCounter(
            name: "tollgate_cache_semantic_hits_total",
            help: "Requests answered from a cached entry whose prompt means nearly the same (included in hits)."
        )
        cacheMisses = registry.makeCounter(
            name: "tollgate_cache_misses_total",
            help: "Cacheable requests that were not in the cache."
        )
        cacheStores = registry.makeCounter(name: "tollgate_cache_stores_total", help: "Responses stored.")
        cacheCollapsed = registry.makeCounter(
            name: "tollgate_cache_collapsed_total",
            help: "Requests that joined an identical request already in flight."
        )
        cacheEntries = registry.makeGauge(name: "tollgate_cache_entries", help: "Entries in the memory tier.")
        cacheBytes = registry.makeGauge(name: "tollgate_cache_bytes", help: "Bytes held by the memory tier.")
        cacheEvictions = registry.makeGauge(
            name: "tollgate_cache_evictions",
            help: "Entries evicted from the memory tier since start."
        )
        diskEntries = registry.makeGauge(name: "tollgate_cache_disk_entries", help: "Entries in the disk tier.")
        diskBytes = registry.makeGauge(name: "tollgate_cache_disk_bytes", help: "Bytes held by the disk tier.")
        inflight = registry.makeGauge(name: "tollgate_inflight_requests", help: "Requests being served.")
        policyReloads = registry.makeCounter(name: "tollgate_policy_reloads_total", help: "Policy reloads applied.")
        policyReloadFailures = registry.makeCounter(
            name: "tollgate_policy_reload_failures_total",
            help: "Policy reloads rejected."
        )
    }

    /// A connection's last label set and its collectors: a keep-alive connection usually
    /// repeats the same route, status and cache result, and then skips both lookups.
    struct Memo {
        var labels: RequestLabels?
        var counter: Counter?
        var histogram: DurationHistogram?
    }

    func recordRequest(route: String, status: Int, cache: String, seconds: Double, memo: inout Memo) {
        let labels = RequestLabels(route: route, status: status, cache: cache)
        if memo.labels != labels {
            memo.labels = labels
            memo.counter = counter(for: labels)
            memo.histogram = histogram(route: route, cache: cache)
        }
        memo.counter?.increment()
        memo.histogram?.recordNanoseconds(Int64(seconds * 1e9))
    }

    private func counter(for labels: RequestLabels) -> Counter {
        let (route, status, cache) = (labels.route, labels.status, labels.cache)
        return requestCounters.withLockedValue { counters in
            if let counter = counters[labels] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: "tollgate_requests_total", helpText: "Requests by route, status and cache result."),
                labels: [("route", route), ("status", String(status)), ("cache", cache)]
            )
            counters[labels] = counter
            return counter
        }
    }

    private func histogram(route: String, cache: String) -> DurationHistogram {
        latencyHistograms.withLockedValue { histograms in
            let name = cache == "hit" ? "hit" : "miss"
            if let histogram = histograms[route + "\u{1f}" + name] { return histogram }
            let histogram = registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(metricName: "tollgate_request_duration_seconds", helpText: "Time from request end to response end."),
                labels: [("route", route), ("cache", name)],
                buckets: Self.latencyBuckets
            )
            histograms[route + "\u{1f}" + name] = histogram
            return histogram
        }
    }

    public func recordUpstreamError(backend: String, kind: String) {
        let key = backend + "\u{1f}" + kind
        let counter = upstreamErrorCounters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: "tollgate_upstream_errors_total", helpText: "Failed upstream attempts by backend and failure kind."),
                labels: [("backend", backend), ("kind", kind)]
            )
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    static let latencyBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
        .seconds(30), .seconds(120),
    ]
}
