import Cache
import Dispatch
import LocalModels
import NIOCore
import NIOHTTP1
import NIOPosix
import Logging
import Prometheus
import Router
import Synchronization
import Testing

@testable import Gateway

/// The tabular pipeline from prepared job to response, with a real memory tier and engine
/// thread and a sink that records what would be written.
@Suite struct TabularPipelineTests {
    final class CapturingSink: ResponseSink {
        let allocator = ByteBufferAllocator()
        let responses = Mutex<[(status: Int, headers: HTTPHeaders, body: [UInt8])]>([])
        let arrived = DispatchSemaphore(value: 0)

        func respond(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, outcome: ResponseOutcome) {
            responses.withLock { $0.append((Int(status.code), headers, Array(body.readableBytesView))) }
            arrived.signal()
        }
        func startStream(status: HTTPResponseStatus, headers: HTTPHeaders) {}
        func streamChunk(_ chunk: ByteBuffer) {}
        func endStream(outcome: ResponseOutcome) {}
        func abortStream(outcome: ResponseOutcome) {}

        var count: Int { responses.withLock { $0.count } }

        func next() throws -> (status: Int, headers: HTTPHeaders, json: JSONValue) {
            arrived.wait()
            let last = responses.withLock { $0.removeFirst() }
            return (last.status, last.headers, try JSONParser.parse(last.body))
        }
    }

    let served = TabularFixtures.served()
    let pipeline: TabularPipeline

    init() throws {
        let cache = ResponseCache(memory: MemoryTier(capacityBytes: 1 << 22), disk: nil)
        pipeline = TabularPipeline(
            cache: cache, policies: try PolicyStore(directory: "/nonexistent", environment: [:], initial: .empty),
            metrics: TabularMetrics(registry: PrometheusCollectorRegistry()), defaultTTLSeconds: 60,
            limits: .unlimited(logger: Logger(label: "test")))
    }

    func job(_ rows: [[Double]], id: String = "req_1", directives: CacheDirectives = .none,
             surface: TabularPipeline.Surface = .openAI) -> TabularPipeline.Job {
        let route = RoutePolicy(name: "toy-route", kinds: [.predict], models: [ModelPattern("toy")], backends: [.init(backend: "toy")])
        let values = rows.flatMap { $0 }
        let keys: [CacheKey]? = directives.noStore ? nil : rows.map {
            RowCache.key(scope: "tenant", route: route.name, model: served.identity, row: $0[...])
        }
        return TabularPipeline.Job(
            requestID: id, surface: surface, served: served, route: route, model: "toy", tenant: "tenant",
            caller: Caller(tenant: "tenant"), rows: PredictRows(values: values, count: rows.count), directives: directives, keys: keys, ttlSeconds: 60)
    }

    func expected(_ row: [Double]) -> (label: String, probabilities: [Double]) {
        guard case .classification(let index, let probabilities) = served.forest.predict(row: row) else { return ("", []) }
        return (["low", "mid", "high"][index], probabilities)
    }

    @Test func computesThenAnswersRepeatsRowByRowFromTheCache() throws {
        let sink = CapturingSink()
        let first: [[Double]] = [[-1, 0], [1, -1], [1, 2]]
        pipeline.serve(job(first), sink: sink, outcome: ResponseOutcome())
        let miss = try sink.next()
        #expect(miss.status == 200)
        #expect(miss.headers.first(name: "cache-status") == #"tollgate; fwd=miss; stored; detail="rows 0/3 cached""#)
        #expect(miss.headers.first(name: "x-tollgate-computed-rows") == "3")
        let predictions = try #require(miss.json["predictions"]?.arrayValue)
        for (row, prediction) in zip(first, predictions) {
            #expect(prediction["label"]?.stringValue == expected(row).label)
            #expect(prediction["probabilities"]?.arrayValue?.compactMap(\.doubleValue) == expected(row).probabilities)
            #expect(prediction["cached"]?.boolValue == false)
        }
        #expect(miss.json["classes"]?.arrayValue?.compactMap(\.stringValue) == ["low", "mid", "high"])
        #expect(predictions.first?["id"]?.stringValue == "pred_1-0")

        // Two rows seen before, one new: only the new one is computed.
        pipeline.serve(job([[1, 2], [5, 5], [-1, 0]], id: "req_2"), sink: sink, outcome: ResponseOutcome())
        let partial = try sink.next()
        #expect(partial.headers.first(name: "cache-status") == #"tollgate; fwd=partial; stored; detail="rows 2/3 cached""#)
        #expect(partial.json["usage"]?["cached_rows"]?.intValue == 2)
        #expect(partial.json["predictions"]?.arrayValue?.map { $0["cached"]?.boolValue } == [true, false, true])
        #expect(partial.json["predictions"]?.arrayValue?[2]["probabilities"] == predictions[0]["probabilities"])

        // All cached: answered before serve returns, without the engine thread.
        pipeline.serve(job([[5, 5], [1, -1]], id: "req_3"), sink: sink, outcome: ResponseOutcome())
        #expect(sink.count == 1)
        let hit = try sink.next()
        #expect(hit.headers.first(name: "cache-status")?.hasPrefix("tollgate; hit; ttl=") == true)
        #expect(hit.headers.first(name: "cache-status")?.hasSuffix(#"detail="rows 2/2 cached""#) == true)
        #expect(hit.headers.first(name: "age") != nil)
        #expect(hit.headers.first(name: "x-tollgate-computed-rows") == "0")
    }

    @Test func noStoreAndNoCacheForwardEveryRow() throws {
        let sink = CapturingSink()
        let rows: [[Double]] = [[2, 2]]
        pipeline.serve(job(rows), sink: sink, outcome: ResponseOutcome())
        _ = try sink.next()
        var noStore = CacheDirectives.none
        noStore.noStore = true
        pipeline.serve(job(rows, directives: noStore), sink: sink, outcome: ResponseOutcome())
        let unstored = try sink.next()
        #expect(unstored.headers.first(name: "cache-status") == #"tollgate; fwd=request; detail="rows 0/1 cached""#)
        var noCache = CacheDirectives.none
        noCache.noCache = true
        pipeline.serve(job(rows, directives: noCache), sink: sink, outcome: ResponseOutcome())
        let refresh = try sink.next()
        #expect(refresh.headers.first(name: "cache-status")?.hasPrefix("tollgate; fwd=request; stored") == true)
        #expect(refresh.headers.first(name: "x-tollgate-computed-rows") == "1")
    }

    @Test func speaksOpenInferenceProtocolAndTakesFeedback() throws {
        let sink = CapturingSink()
        let rows: [[Double]] = [[-1, 0], [1, 2]]
        pipeline.serve(job(rows, id: "req_v2", surface: .v2(id: "client-7", outputs: nil)), sink: sink, outcome: ResponseOutcome())
        let answer = try sink.next()
        #expect(answer.json["model_name"]?.stringValue == "toy")
        #expect(answer.json["id"]?.stringValue == "client-7")
        let outputs = try #require(answer.json["outputs"]?.arrayValue)
        #expect(outputs.map { $0["name"]?.stringValue } == ["label", "probabilities"])
        #expect(outputs[0]["datatype"]?.stringValue == "BYTES")
        #expect(outputs[0]["data"]?.arrayValue?.compactMap(\.stringValue) == rows.map { expected($0).label })
        #expect(outputs[1]["shape"]?.arrayValue?.compactMap(\.intValue) == [2, 3])
        #expect(outputs[1]["data"]?.arrayValue?.compactMap(\.doubleValue) == rows.flatMap { expected($0).probabilities })
        #expect(answer.json["parameters"]?["prediction_id"]?.stringValue == "pred_v2")

        var body = ByteBuffer()
        body.writeString(#"{"id": "pred_v2", "labels": ["low", "mid"]}"#)
        let reply = try JSONParser.parse(try pipeline.feedback(body: body))
        #expect(reply["accepted"]?.intValue == 2)
        #expect(reply["models"]?.arrayValue?.first?["accuracy"]?.doubleValue == 0.5)
        var unknown = ByteBuffer()
        unknown.writeString(#"{"feedback": [{"id": "pred_nope-0", "label": "low"}]}"#)
        #expect(throws: GatewayError.self) { try pipeline.feedback(body: unknown) }
    }
}
