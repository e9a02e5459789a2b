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
            if case .failure(let error) = caller(for: head) { return respond(error: error) }
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
        let caller: Caller
        switch self.caller(for: head) {
        case .success(let known): caller = known
        case .failure(let error): return respond(error: error)
        }
        current.outcome.tenant = caller.tenant
        current.outcome.keyID = caller.key?.id
        let directives = head.headers.first(name: "cache-control").map(CacheDirectives.init(header:)) ?? .none
        var job: TabularPipeline.Job
        do {
            job = try shared.tabular.prepare(
                body: body, pathModel: pathModel, pathVersion: version, caller: caller, directives: directives,
                requestID: current.requestID)
        } catch {
            return respond(error: error)
        }
        current.outcome.route = job.route.name
        current.outcome.model = job.model
        switch shared.pipeline.limits.admitRequest(caller, route: job.route, now: Clock.wallNow()) {
        case .failure(let error): return respond(error: error)
        case .success(let report): job.rate = report
        }
        shared.tabular.serve(job, sink: makeSink(context: context), outcome: current.outcome)
    }
}
