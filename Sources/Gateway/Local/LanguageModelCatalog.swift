import Logging
import LocalModels
import Prometheus
import Router

/// Every GGUF backend of a routing table, loaded. Built next to the table on each policy load.
///
/// Unlike a forest, a language model that does not load does not reject the policies: its
/// backend answers 503 with the reason (and its route's fallbacks apply) while every other route
/// serves. On a reload, a model whose replacement file does not load keeps serving the version
/// already loaded.
struct LanguageModelCatalog: Sendable {
    let models: [String: ServedLanguageModel]
    /// Backend name -> why its model is not loaded.
    let failures: [String: String]
    /// Files of models that failed to load: fixing one triggers a reload.
    let failedPaths: [String]

    static let empty = LanguageModelCatalog(models: [:], failures: [:], failedPaths: [])

    subscript(backend: String) -> ServedLanguageModel? { models[backend] }

    static func load(
        table: RoutingTable,
        previous: LanguageModelCatalog,
        registry: PrometheusCollectorRegistry,
        logger: Logger
    ) -> LanguageModelCatalog {
        var models: [String: ServedLanguageModel] = [:]
        var failures: [String: String] = [:]
        var failedPaths: [String] = []
        for backend in table.backends.values.sorted(by: { $0.name < $1.name }) {
            guard let spec = backend.languageModel, backend.unconfiguredReason == nil else { continue }
            let fingerprint = FileFingerprint(path: spec.path)
            let kept = previous[backend.name]
            if let kept, kept.isUnchanged(spec: spec, fingerprint: fingerprint) {
                models[backend.name] = kept
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
        return LanguageModelCatalog(models: models, failures: failures, failedPaths: failedPaths)
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

    struct LoadFailure: Error {
        var message: String
    }

    /// Models that `replacement` no longer serves with the same object: they finish their queue and stop.
    func retired(by replacement: LanguageModelCatalog) -> [ServedLanguageModel] {
        models.compactMap { name, served in replacement[name] === served ? nil : served }
    }

    /// The files to watch for changes.
    var watchedPaths: [String] {
        models.keys.sorted().compactMap { models[$0]?.fingerprint.path } + failedPaths
    }
}
