import Foundation
import NIOCore
import NIOHTTP1

extension TabularPipeline {
    /// Renders the answer in the request's protocol, remembers it for feedback, counts it,
    /// and sends it.
    func respond(
        _ job: Job, table: PredictionTable, cacheStatus: String, age: Double?, sink: some ResponseSink,
        outcome: ResponseOutcome
    ) {
        let served = job.served
        let cached = table.cachedCount
        let computed = table.rowCount - cached
        feedback.remember(
            job.predictionID,
            FeedbackLog.Record(
                model: job.model, backend: served.backend, classLabels: served.classLabels,
                predictions: served.isClassifier
                    ? table.labels.map(Double.init) : (0..<table.rowCount).map { table.values[$0 * table.width] }))
        if cached > 0 { metrics.rows(model: job.model, backend: served.backend, source: "cache").increment(by: Int64(cached)) }
        if computed > 0 {
            metrics.rows(model: job.model, backend: served.backend, source: "computed").increment(by: Int64(computed))
        }

        let body: [UInt8]
        switch job.surface {
        case .openAI:
            body = PredictResponse.render(job, table: table)
        case .v2(let id, let outputs):
            body = V2Response.render(job, table: table, id: id, outputs: outputs)
        }
        let price = served.spec.pricePer1kRows / 1000
        var extra: [(String, String)] = [
            ("cache-status", cacheStatus),
            ("x-tollgate-cached-rows", String(cached)),
            ("x-tollgate-computed-rows", String(computed)),
            ("x-tollgate-model-version", served.version),
            ("x-tollgate-cost-usd", USD.format(price * Double(computed))),
            ("x-tollgate-saved-usd", USD.format(price * Double(cached))),
        ]
        if let age { extra.append(("age", String(Int(age.rounded(.down))))) }
        extra.append(contentsOf: job.rate.headers)
        var buffer = sink.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        var outcome = outcome
        outcome.backend = served.backend
        outcome.cache = Self.cacheResult(job, cached: cached, computed: computed)
        if computed > 0 { outcome.costUSD = price * Double(computed) }
        if cached > 0 { limits.recordSaving(price * Double(cached), caller: job.caller, route: job.route.name) }
        sink.respond(
            status: .ok,
            headers: ResponseRenderer.headers(contentType: "application/json", length: body.count, extra: extra),
            body: buffer, outcome: outcome)
    }

    /// The access log's and metrics' word for what the cache did.
    static func cacheResult(_ job: Job, cached: Int, computed: Int) -> String {
        if computed == 0 { return "hit" }
        if job.keys == nil { return job.directives.noStore ? "request" : "bypass" }
        if !job.directives.allowsLookup { return "request" }
        return cached > 0 ? "partial" : "miss"
    }
}

/// The `/v1/predict` answer.
enum PredictResponse {
    static func render(_ job: TabularPipeline.Job, table: PredictionTable) -> [UInt8] {
        let served = job.served
        var out: [UInt8] = []
        out.reserveCapacity(160 + table.rowCount * (40 + 20 * table.width))
        out.append(contentsOf: #"{"id":"#.utf8)
        JSONText.appendQuoted(job.predictionID, to: &out)
        out.append(contentsOf: #","object":"prediction","created":"#.utf8)
        out.append(contentsOf: String(Int(Clock.wallNow())).utf8)
        out.append(contentsOf: #","model":"#.utf8)
        JSONText.appendQuoted(job.model, to: &out)
        out.append(contentsOf: #","model_version":"#.utf8)
        JSONText.appendQuoted(served.version, to: &out)
        if let labels = served.classLabels {
            out.append(contentsOf: #","classes":["#.utf8)
            for (index, label) in labels.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                label.appendJSON(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: #","predictions":["#.utf8)
        let prefix = Array(job.predictionID.utf8)
        for row in 0..<table.rowCount {
            if row > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"id":""#.utf8)
            out.append(contentsOf: prefix)
            out.append(UInt8(ascii: "-"))
            out.append(contentsOf: String(row).utf8)
            out.append(UInt8(ascii: "\""))
            if let labels = served.classLabels {
                out.append(contentsOf: #","label":"#.utf8)
                labels[table.labels[row]].appendJSON(to: &out)
                out.append(contentsOf: #","probabilities":"#.utf8)
                JSONNumber.append(table.values(at: row), to: &out)
            } else if table.width == 1 {
                out.append(contentsOf: #","value":"#.utf8)
                JSONNumber.append(table.values[row], to: &out)
            } else {
                out.append(contentsOf: #","values":"#.utf8)
                JSONNumber.append(table.values(at: row), to: &out)
            }
            out.append(contentsOf: table.cached[row] ? #","cached":true}"#.utf8 : #","cached":false}"#.utf8)
        }
        let cached = table.cachedCount
        out.append(contentsOf: #"],"usage":{"rows":"#.utf8)
        out.append(contentsOf: String(table.rowCount).utf8)
        out.append(contentsOf: #","cached_rows":"#.utf8)
        out.append(contentsOf: String(cached).utf8)
        out.append(contentsOf: #","computed_rows":"#.utf8)
        out.append(contentsOf: String(table.rowCount - cached).utf8)
        out.append(contentsOf: "}}".utf8)
        return out
    }
}
