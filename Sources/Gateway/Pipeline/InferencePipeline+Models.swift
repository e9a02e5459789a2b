import Foundation
import Cache
import NIOCore
import NIOHTTP1
import Router

extension InferencePipeline {
    /// `GET /v1/models`: the names the routing table serves, plus what configured upstreams
    /// behind catch-all routes list themselves (asked with a short deadline, failures ignored).
    func listModels(sink: some ResponseSink) async {
        let table = policies.table
        var ids: [String] = table.modelNames
        var seen = Set(ids)
        var backendsToAsk: [BackendPolicy] = []
        for route in table.routes where route.models.contains(where: \.isGlob) {
            for name in route.backends.map(\.backend) + route.fallbacks {
                if let backend = table.backends[name], backend.unconfiguredReason == nil,
                    !backendsToAsk.contains(where: { $0.name == backend.name })
                {
                    backendsToAsk.append(backend)
                }
            }
        }
        // A local model behind a catch-all route is listed by its file name ("qwen2.5-0.5b-q8_0").
        let languageModels = policies.languageModels
        for backend in backendsToAsk where backend.type == .gguf {
            guard let served = languageModels[backend.name] else { continue }
            let file = (served.spec.path as NSString).lastPathComponent
            let id = file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
            if seen.insert(id).inserted { ids.append(id) }
        }
        for backend in backendsToAsk {
            guard let base = backend.replicas.first else { continue }
            let url = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/models"
            guard let (status, body) = try? await upstream.get(url: url, apiKey: backend.apiKey, deadline: .now() + .seconds(3)),
                (200..<300).contains(status),
                let models = (try? JSONParser.parse(body))?["data"]?.arrayValue
            else { continue }
            for model in models {
                if let id = model["id"]?.stringValue, !seen.contains(id) {
                    seen.insert(id)
                    ids.append(id)
                }
            }
        }

        var out = [UInt8]()
        out.append(contentsOf: #"{"object":"list","data":["#.utf8)
        for (index, id) in ids.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"id":"#.utf8)
            JSONText.appendQuoted(id, to: &out)
            out.append(contentsOf: #","object":"model","created":0,"owned_by":"tollgate"}"#.utf8)
        }
        out.append(contentsOf: "]}".utf8)
        var buffer = sink.allocator.buffer(capacity: out.count)
        buffer.writeBytes(out)
        let headers = ResponseRenderer.headers(contentType: "application/json", length: out.count, extra: [])
        sink.respond(status: .ok, headers: headers, body: buffer, outcome: ResponseOutcome(route: "models"))
    }
}
