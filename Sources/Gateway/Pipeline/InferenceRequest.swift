import Cache
import NIOCore
import Router

/// What the event loop learned about an inference request before it goes async.
struct InferenceRequest: Sendable {
    var requestID: String
    var kind: EndpointKind
    /// Path below the backend's `/v1` base, e.g. `/chat/completions`.
    var upstreamPath: String
    var body: JSONObject
    /// The body as the client sent it, forwarded as is when nothing in it must change.
    var rawBody: ByteBuffer
    var match: RouteMatch
    var tenant: String
    /// Who sent it: the virtual key (if any) whose limits and budgets apply.
    var caller: Caller
    /// What the rate limits reported at admission, for the `x-ratelimit-*` headers.
    var rate = RateReport()
    /// Headers every response to this request carries (a budget fallback says so here).
    var limitHeaders: [(String, String)] = []
    var wantsStream: Bool
    var includeUsage: Bool
    var directives: CacheDirectives
    /// Canonical key; nil when the request must not touch the cache.
    var cacheKey: CacheKey?
    /// Key of the raw body, remembered as an alias of `cacheKey` once stored.
    var rawKey: CacheKey?
    var affinityHash: UInt64?
    var ttlSeconds: Double
    /// The client connection's loop: the upstream exchange runs there too.
    var eventLoop: (any EventLoop)?
    /// The prompt tokenised for a local model, when the continuation lookup did it already.
    var localPlan: LocalPlan?
    /// The prompt's embedding, when the route has a semantic cache and the lookup made it.
    var semanticProbe: SemanticProbe?

    var route: RoutePolicy { match.route }

    /// Whether a successful answer may be stored.
    var storable: Bool { cacheKey != nil && !directives.noStore }

    var endpointName: String { kind.rawValue }
}

extension EndpointKind {
    /// The data-plane path for each OpenAI-compatible endpoint.
    init?(path: String) {
        switch path {
        case "/v1/chat/completions": self = .chat
        case "/v1/completions": self = .completion
        case "/v1/embeddings": self = .embedding
        default: return nil
        }
    }

    var upstreamPath: String {
        switch self {
        case .chat: return "/chat/completions"
        case .completion: return "/completions"
        case .embedding: return "/embeddings"
        case .predict: return "/predict"
        }
    }

    /// Whether the endpoint can answer with an event stream.
    var canStream: Bool { self == .chat || self == .completion }
}
