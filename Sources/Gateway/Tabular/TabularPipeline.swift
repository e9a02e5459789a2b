import Cache
import NIOCore
import NIOHTTP1
import Router

/// `POST /v1/predict` and `POST /v2/models/{name}/infer`: parse and route on the event loop,
/// answer the rows already cached, send the rest to the model's batcher, and answer once
/// they come back. A request whose rows are all cached never leaves the event loop.
final class TabularPipeline: Sendable {
    let cache: ResponseCache?
    let policies: PolicyStore
    let metrics: TabularMetrics
    let feedback: FeedbackLog
    let defaultTTLSeconds: Double
    let limits: LimitEnforcer

    /// Which protocol the answer speaks.
    enum Surface: Sendable {
        case openAI
        case v2(id: String?, outputs: [String]?)
    }

    /// A prepared request: its model, its rows and their cache keys.
    struct Job: Sendable {
        var requestID: String
        var surface: Surface
        var served: ServedForest
        var route: RoutePolicy
        /// The name the client asked for (before aliases), echoed back.
        var model: String
        var tenant: String
        var caller: Caller
        /// What the requests-per-minute windows said, for the headers.
        var rate = RateReport()
        var rows: PredictRows
        var directives: CacheDirectives
        /// One per row; nil when the route does not cache or the client said `no-store`.
        var keys: [CacheKey]?
        var ttlSeconds: Double

        var predictionID: String { "pred_" + requestID.dropFirst(4) }
    }

    init(cache: ResponseCache?, policies: PolicyStore, metrics: TabularMetrics, defaultTTLSeconds: Double,
         limits: LimitEnforcer, feedback: FeedbackLog = FeedbackLog()) {
        self.limits = limits
        self.cache = cache
        self.policies = policies
        self.metrics = metrics
        self.feedback = feedback
        self.defaultTTLSeconds = defaultTTLSeconds
    }

    /// Parses and routes. `pathModel` is the `{name}` of a v2 path; `/v1/predict` names its
    /// model in the body. Errors are the client's.
    func prepare(
        body: ByteBuffer, pathModel: String?, pathVersion: String?, caller: Caller, directives: CacheDirectives,
        requestID: String
    ) throws(GatewayError) -> Job {
        let tenant = caller.tenant
        let object = try RequestBody.object(body)
        let model: String
        if let pathModel {
            model = pathModel
        } else {
            guard let value = object["model"] else {
                throw GatewayError.badRequest(
                    "Missing required parameter: 'model'.", code: "missing_required_parameter", param: "model")
            }
            guard case .string(let name) = value, !name.isEmpty else {
                throw GatewayError.badRequest("'model' must be a non-empty string.", code: "invalid_type", param: "model")
            }
            model = name
        }
        let (served, route) = try resolve(model: model, version: pathVersion)
        if let refusal = limits.checkModel(caller, requested: model, resolved: model) { throw refusal }
        let rows: PredictRows
        let surface: Surface
        if pathModel != nil {
            let input = try V2InferInput(object, forest: served, model: model)
            rows = input.rows
            surface = .v2(id: input.id, outputs: input.outputs)
        } else {
            rows = try PredictInput.rows(object["inputs"], forest: served, model: model)
            surface = .openAI
        }
        guard rows.count > 0 else {
            throw GatewayError.badRequest("The request holds no rows to score.", code: "invalid_value", param: "inputs")
        }
        var keys: [CacheKey]?
        if cache != nil, route.cache.enabled, !directives.noStore {
            let scope = route.cache.scope == .shared ? "shared" : tenant
            let width = served.featureCount
            keys = (0..<rows.count).map { row in
                RowCache.key(
                    scope: scope, route: route.name, model: served.identity,
                    row: rows.values[(row * width)..<((row + 1) * width)])
            }
        }
        return Job(
            requestID: requestID, surface: surface, served: served, route: route, model: model, tenant: tenant,
            caller: caller, rows: rows, directives: directives, keys: keys, ttlSeconds: route.cache.ttlSeconds ?? defaultTTLSeconds)
    }

    /// The route for `model` and the loaded forest it picks (weighted among the route's
    /// backends, fallbacks after them).
    func resolve(model: String, version: String? = nil) throws(GatewayError) -> (ServedForest, RoutePolicy) {
        let snapshot = policies.snapshot
        guard let match = snapshot.table.resolve(kind: .predict, model: model) else {
            throw GatewayError.modelNotFound(model)
        }
        var rng = FastRandom()
        let attempts = RoutePlanner.plan(route: match.route, table: snapshot.table, affinityHash: nil, using: &rng)
        let candidates = attempts.compactMap { snapshot.forests[$0.backend.name] }
        let chosen = version.map { wanted in candidates.first { $0.version == wanted } } ?? candidates.first
        guard let served = chosen else {
            if let version {
                throw GatewayError.notFound("Model '\(model)' has no version '\(version)'.", code: "model_version_not_found")
            }
            throw GatewayError.unavailable("Model '\(model)' has no loaded forest backend.", code: "model_not_loaded")
        }
        return (served, match.route)
    }

    /// Answers `job`: cached rows now, the rest after the engine. Called on the event loop.
    func serve(_ job: Job, sink: some ResponseSink, outcome: ResponseOutcome) {
        var table = PredictionTable(rowCount: job.rows.count, width: job.served.answerWidth)
        var missing: [Int] = []
        var oldest = 0.0
        var freshest = Double.infinity
        let now = Clock.wallNow()
        if let keys = job.keys, let cache, job.directives.allowsLookup {
            for (row, key) in keys.enumerated() {
                if let entry = cache.getFromMemory(key, now: now), job.directives.accepts(entry, now: now),
                    let stored = RowCache.decode(entry.body, width: table.width)
                {
                    table.set(row: row, label: stored.label, values: stored.values, cached: true)
                    oldest = max(oldest, entry.metadata.age(now: now))
                    freshest = min(freshest, entry.metadata.ttl(now: now))
                } else {
                    missing.append(row)
                }
            }
        } else {
            missing = Array(0..<job.rows.count)
        }
        guard !missing.isEmpty else {
            let status = CacheStatus.rowsHit(ttl: freshest, detail: Self.rowsDetail(cached: job.rows.count, of: job.rows.count))
            respond(job, table: table, cacheStatus: status, age: oldest, sink: sink, outcome: outcome)
            return
        }
        let width = job.served.featureCount
        var rows: [Double]
        if missing.count == job.rows.count {
            rows = job.rows.values
        } else {
            rows = []
            rows.reserveCapacity(missing.count * width)
            for row in missing { rows.append(contentsOf: job.rows.values[(row * width)..<((row + 1) * width)]) }
        }
        let pending = table
        let missingRows = missing
        // The rows' cost is known now: the budgets reserve exactly it.
        let cost = job.served.spec.pricePer1kRows / 1000 * Double(missing.count)
        let admission: LimitEnforcer.Admission
        switch limits.admitRows(job.caller, route: job.route, cost: cost, now: now) {
        case .success(let admitted):
            admission = admitted
        case .failure(let refusal):
            sink.respond(error: refusal.error(report: job.rate), outcome: outcome)
            return
        }
        do {
            try job.served.batcher.submit(rows: rows, rowCount: missing.count) { batch, range in
                var table = pending
                table.fill(from: batch, range: range, into: missingRows)
                guard !admission.holds.isEmpty || cost > 0 else {
                    return self.finish(job, table: table, computed: missingRows, sink: sink, outcome: outcome)
                }
                // Booked in the ledger before the answer goes out; off the engine's thread.
                Task {
                    self.limits.settle(
                        admission, requestID: job.requestID, route: job.route.name, model: job.model, cost: cost,
                        usage: nil)
                    self.finish(job, table: table, computed: missingRows, sink: sink, outcome: outcome)
                }
            }
        } catch {
            limits.release(admission)
            var error = GatewayError.unavailable(
                "Model '\(job.model)' is overloaded (\(error.queuedRows) rows queued); retry shortly.",
                code: "engine_overloaded")
            error.headers.append(("retry-after", "1"))
            sink.respond(error: error, outcome: outcome)
        }
    }

    /// Stores the computed rows and answers. Runs on the engine thread.
    private func finish(_ job: Job, table: PredictionTable, computed: [Int], sink: some ResponseSink, outcome: ResponseOutcome) {
        var stored = false
        if let keys = job.keys, let cache {
            let now = Clock.wallNow()
            for row in computed {
                let metadata = EntryMetadata(
                    key: keys[row], tenant: job.route.cache.scope == .shared ? "shared" : job.tenant,
                    route: job.route.name, endpoint: EndpointKind.predict.rawValue, model: job.model,
                    createdAt: now, expiresAt: now + job.ttlSeconds, tags: job.route.cache.tags)
                let entry = CachedResponse(
                    metadata: metadata, contentType: RowCache.contentType,
                    body: RowCache.encode(label: table.labels[row], values: table.values(at: row)))
                stored = cache.storeInMemory(entry, now: now) || stored
            }
        }
        let cached = job.rows.count - computed.count
        let fwd: String
        if job.keys == nil {
            fwd = job.directives.noStore && cache != nil && job.route.cache.enabled ? "request" : "bypass"
        } else if !job.directives.allowsLookup {
            fwd = "request"
        } else {
            fwd = cached > 0 ? "partial" : "miss"
        }
        let status = CacheStatus.forward(
            fwd, stored: stored, collapsed: false, key: nil, detail: Self.rowsDetail(cached: cached, of: job.rows.count))
        respond(job, table: table, cacheStatus: status, age: nil, sink: sink, outcome: outcome)
    }

    /// `Cache-Status` detail for a batch: how many of its rows came from the cache.
    static func rowsDetail(cached: Int, of total: Int) -> String {
        "\"rows \(cached)/\(total) cached\""
    }
}
