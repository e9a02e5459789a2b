import Logging
import LocalModels
import Prometheus
import Router

/// Every GGUF backend of a routing table, loaded. Built next to the table on each policy load.
/// A file whose architecture is `bert` is an encoder (served by `/v1/embeddings`); any other is a
/// generative model (chat and completions).
///
/// Unlike a forest, a language model that does not load does not reject the policies: its
/// backend answers 503 with the reason (and its route's fallbacks apply) while every other route
/// serves. On a reload, a model whose replacement file does not load keeps serving the version
/// already loaded.
struct LanguageModelCatalog: Sendable {
    let models: [String: ServedLanguageModel]
    let encoders: [String: ServedEncoder]
    /// Backend name -> why its model is not loaded.
    let failures: [String: String]
    /// Files of models that failed to load: fixing one triggers a reload.
    let failedPaths: [String]

    static let empty = LanguageModelCatalog(models: [:], encoders: [:], failures: [:], failedPaths: [])

    subscript(backend: String) -> ServedLanguageModel? { models[backend] }

    /// Models and encoders loaded.
    var count: Int { models.count + encoders.count }

    /// Why `backend` answers 503: its file did not load, or it is not the kind of model the request needs.
    func unavailableReason(_ backend: String, wanted: String) -> String {
        if let failure = failures[backend] { return "The model for backend '\(backend)' is not loaded: \(failure)" }
        if models[backend] != nil || encoders[backend] != nil {
            return "The model for backend '\(backend)' is not \(wanted)."
        }
        return "The model for backend '\(backend)' is not loaded."
    }

    /// Routes that send a kind of request to a loaded model that cannot serve it: an encoder
    /// behind chat or completions, a generative model behind embeddings.
    func kindMismatches(in table: RoutingTable) -> [(route: RoutePolicy, reason: String)] {
        var found: [(RoutePolicy, String)] = []
        for route in table.routes {
            for name in route.backends.map(\.backend) + route.fallbacks {
                if encoders[name] != nil, route.kinds.contains(.chat) || route.kinds.contains(.completion) {
                    found.append((route, "backend '\(name)' is an embedding model (bert): it serves only embedding"))
                } else if models[name] != nil, route.kinds.contains(.embedding) {
                    found.append((route, "backend '\(name)' is a generative model: embeddings need an encoder (bert) file"))
                }
            }
            if let encoder = route.cache.semantic?.encoder, models[encoder] != nil {
                found.append((route, "backend '\(encoder)' is a generative model: the semantic cache needs an encoder (bert) file"))
            }
        }
        return found
    }

    /// Stops every engine thread (the gateway is shutting down, or a check is done).
    func shutdown() {
        for served in models.values { served.engine.shutdown() }
        for served in encoders.values { served.engine.shutdown() }
    }

    static func load(
        table: RoutingTable,
        previous: LanguageModelCatalog,
        registry: PrometheusCollectorRegistry,
        logger: Logger
    ) -> LanguageModelCatalog {
        var models: [String: ServedLanguageModel] = [:]
        var encoders: [String: ServedEncoder] = [:]
        var failures: [String: String] = [:]
        var failedPaths: [String] = []
        for backend in table.backends.values.sorted(by: { $0.name < $1.name }) {
            guard let spec = backend.languageModel, backend.unconfiguredReason == nil else { continue }
            let fingerprint = FileFingerprint(path: spec.path)
            let kept = previous[backend.name]
            let keptEncoder = previous.encoders[backend.name]
            if let kept, kept.isUnchanged(spec: spec, fingerprint: fingerprint) {
                models[backend.name] = kept
                continue
            }
            if let keptEncoder, keptEncoder.isUnchanged(spec: spec, fingerprint: fingerprint) {
                encoders[backend.name] = keptEncoder
                continue
            }
            if fingerprint.exists, Self.isEncoder(path: spec.path) {
                switch loadEncoder(backend: backend, spec: spec, fingerprint: fingerprint, registry: registry, kept: keptEncoder) {
                case .success(let served):
                    encoders[backend.name] = served
                    logger.notice(
                        "embedding model loaded",
                        metadata: [
                            "tollgate.backend": "\(backend.name)", "tollgate.file": "\(spec.path)",
                            "tollgate.dimensions": "\(served.dimensions)",
                        ])
                case .failure(let failure):
                    failures[backend.name] = failure.message
                    failedPaths.append(spec.path)
                    if let keptEncoder, keptEncoder.spec.path == spec.path { encoders[backend.name] = keptEncoder }
                    logger.error(
                        "embedding model not loaded",
                        metadata: [
                            "tollgate.backend": "\(backend.name)", "tollgate.error": "\(failure.message)",
                            "tollgate.serving": "\(encoders[backend.name] != nil ? "previous version" : "nothing (503)")",
                        ])
                }
                continue
            }
            switch loadModel(backend: backend, spec: spec, fingerprint: fingerprint, registry: registry, kept: kept) {
            case .success(let served):
                models[backend.name] = served
                logger.notice(
                    "language model loaded",
                    metadata: [
                        "tollgate.backend": "\(backend.name)", "tollgate.file": "\(spec.path)",
                        "tollgate.context": "\(served.model.contextLength)",
                        "tollgate.template": "\(served.model.template.family)",
                    ])
            case .failure(let failure):
                let message = failure.message
                failures[backend.name] = message
                failedPaths.append(spec.path)
                if let kept, kept.spec.path == spec.path {
                    models[backend.name] = kept  // The old version keeps serving.
                }
                logger.error(
                    "language model not loaded",
                    metadata: [
                        "tollgate.backend": "\(backend.name)", "tollgate.error": "\(message)",
                        "tollgate.serving": "\(models[backend.name] != nil ? "previous version" : "nothing (503)")",
                    ])
            }
        }
        return LanguageModelCatalog(models: models, encoders: encoders, failures: failures, failedPaths: failedPaths)
    }

    static func loadModel(
        backend: BackendPolicy,
        spec: LanguageModelSpec,
        fingerprint: FileFingerprint,
        registry: PrometheusCollectorRegistry,
        kept: ServedLanguageModel?
    ) -> Result<ServedLanguageModel, LoadFailure> {
        guard fingerprint.exists else { return .failure(LoadFailure(message: "\(spec.path): no such file")) }
        do {
            let model = try LanguageModel(path: spec.path, options: ServedLanguageModel.options(for: spec))
            let metrics = kept?.metrics ?? LanguageModelMetrics(registry: registry, backend: backend.name)
            return .success(
                ServedLanguageModel(backend: backend.name, spec: spec, model: model, fingerprint: fingerprint, metrics: metrics))
        } catch {
            return .failure(LoadFailure(message: "\(error)"))
        }
    }

    static func loadEncoder(
        backend: BackendPolicy,
        spec: LanguageModelSpec,
        fingerprint: FileFingerprint,
        registry: PrometheusCollectorRegistry,
        kept: ServedEncoder?
    ) -> Result<ServedEncoder, LoadFailure> {
        do {
            let engine = try EmbeddingEngine(
                path: spec.path, threads: spec.threads, configuration: ServedEncoder.configuration(for: spec))
            let metrics = kept?.metrics ?? EncoderMetrics(registry: registry, backend: backend.name)
            return .success(
                ServedEncoder(backend: backend.name, spec: spec, engine: engine, fingerprint: fingerprint, metrics: metrics))
        } catch {
            return .failure(LoadFailure(message: "\(error)"))
        }
    }

    /// Whether the GGUF file at `path` holds an encoder (`general.architecture = "bert"`). A
    /// file that does not parse is not one: loading it as a language model gives its error.
    static func isEncoder(path: String) -> Bool {
        (try? GGUFFile(path: path))?.string("general.architecture") == "bert"
    }

    struct LoadFailure: Error {
        var message: String
    }

    /// Lets the engines that `replacement` no longer serves with the same object finish their
    /// queues and stop.
    func retire(replacedBy replacement: LanguageModelCatalog) {
        for (name, served) in models where replacement[name] !== served { served.engine.retire() }
        for (name, served) in encoders where replacement.encoders[name] !== served { served.engine.retire() }
    }

    /// The files to watch for changes.
    var watchedPaths: [String] {
        models.keys.sorted().compactMap { models[$0]?.fingerprint.path }
            + encoders.keys.sorted().compactMap { encoders[$0]?.fingerprint.path } + failedPaths
    }
}
