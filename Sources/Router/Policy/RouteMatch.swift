/// The route chosen for a request, with the model name before and after alias resolution.
public struct RouteMatch: Sendable, Hashable {
    /// The first route that serves the endpoint kind and the resolved model.
    public var route: RoutePolicy
    /// The `model` the client sent.
    public var requestedModel: String
    /// The model name after alias resolution: what routes matched against, and what is
    /// sent upstream unless the backend sets its own ``BackendPolicy/upstreamModel``.
    public var model: String

    public init(route: RoutePolicy, requestedModel: String, model: String) {
        self.route = route
        self.requestedModel = requestedModel
        self.model = model
    }

    /// Whether the client used an alias.
    public var isAlias: Bool { requestedModel != model }
}
