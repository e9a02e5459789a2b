import NIOCore
import NIOHTTP1

/// The tabular endpoints: `/v1/predict` and the Open Inference Protocol v2 paths. Parsing,
/// routing and row-cache lookups happen here on the event loop; rows the cache does not hold
/// go to the model's batcher and come back through a sink.
extension GatewayHandler {
    func handleV2(_ v2: V2Path, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = current.path
        switch v2 {
        case .server:
            guard head.method == .GET else { return respond(error: .methodNotAllowed(head.method, path: path, allowed: "GET")) }
            respondJSON(#"{"name":"tollgate","version":"\#(TollgateVersion.current)","extensions":[]}"#)
        case .model(let name, let version, let action):
            current.outcome.model = name
            if action == .infer {
                guard head.method == .POST else {
                    return respond(error: .methodNotAllowed(head.method, path: path, allowed: "POST"))
                }
                return handlePredict(pathModel: name, version: version, head: head, context: context)
            }
            guard head.method == .GET || head.method == .HEAD else {
                return respond(error: .methodNotAllowed(head.method, path: path, allowed: "GET"))
            }
            do {
                let (served, route) = try shared.tabular.resolve(model: name, version: version)
                current.outcome.route = route.name
                if action == .ready {
                    respondJSON(#"{"name":\#(JSONText.quoted(name)),"ready":true}"#)
                } else {
                    respondJSON(bytes: V2Response.metadata(served, model: name))
                }
            } catch {
                respond(error: error)
            }
        }
    }

    func handlePredict(pathModel: String?, version: String?, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let tenant: String
        switch caller(for: head) {
        case .success(let caller): tenant = caller.tenant
        case .failure(let error): return respond(error: error)
        }
        current.outcome.tenant = tenant
        let directives = head.headers.first(name: "cache-control").map(CacheDirectives.init(header:)) ?? .none
        let job: TabularPipeline.Job
        do {
            job = try shared.tabular.prepare(
                body: body, pathModel: pathModel, pathVersion: version, tenant: tenant, directives: directives,
                requestID: current.requestID)
        } catch {
            return respond(error: error)
        }
        current.outcome.route = job.route.name
        current.outcome.model = job.model
        shared.tabular.serve(job, sink: makeSink(context: context), outcome: current.outcome)
    }
}
