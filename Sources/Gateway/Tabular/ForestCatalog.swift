import Cache
import Foundation
import LocalModels
import Router

/// Every forest backend of a routing table, loaded. Built next to the table on each policy
/// load, so a model file that does not load rejects the reload like a bad policy line does.
struct ForestCatalog: Sendable {
    let forests: [String: ServedForest]

    static let empty = ForestCatalog(forests: [:])

    subscript(backend: String) -> ServedForest? { forests[backend] }

    /// Loads the forest backends of `table`. One whose file and declaration are unchanged
    /// since `previous` is kept (same object, same batcher, warm rows); the rest load anew.
    static func load(table: RoutingTable, previous: ForestCatalog, metrics: TabularMetrics) -> Result<ForestCatalog, ConfigErrors> {
        var forests: [String: ServedForest] = [:]
        var problems: [ConfigProblem] = []
        for backend in table.backends.values.sorted(by: { $0.name < $1.name }) {
            guard let spec = backend.forest else { continue }
            let fingerprint = FileFingerprint(path: spec.path)
            if let kept = previous[backend.name], kept.isUnchanged(spec: spec, fingerprint: fingerprint) {
                forests[backend.name] = kept
                continue
            }
            do {
                forests[backend.name] = try loadForest(backend: backend, spec: spec, fingerprint: fingerprint, metrics: metrics)
            } catch {
                problems.append(
                    ConfigProblem(file: backend.file, line: backend.line, key: "backends.\(backend.name).file", reason: error.message)
                )
            }
        }
        if !problems.isEmpty { return .failure(ConfigErrors(problems)) }
        return .success(ForestCatalog(forests: forests))
    }

    /// Backends that `replacement` no longer serves with the same object: they retire once
    /// the swap is done (their batchers finish what they hold, then stop).
    func retired(by replacement: ForestCatalog) -> [ServedForest] {
        forests.compactMap { name, served in replacement[name] === served ? nil : served }
    }

    /// The files to watch for changes.
    var fingerprints: [FileFingerprint] {
        forests.keys.sorted().compactMap { forests[$0]?.fingerprint }
    }

    struct LoadFailure: Error {
        var message: String
    }

    static func loadForest(
        backend: BackendPolicy, spec: ForestModelSpec, fingerprint: FileFingerprint, metrics: TabularMetrics
    ) throws(LoadFailure) -> ServedForest {
        guard fingerprint.exists else { throw LoadFailure(message: "\(spec.path): no such file") }
        guard let data = FileManager.default.contents(atPath: spec.path) else {
            throw LoadFailure(message: "\(spec.path): cannot read the file")
        }
        let bytes = [UInt8](data)
        let format = spec.format.flatMap(ForestFormat.init(rawValue:))
        let model: ForestModel
        do {
            model = try ForestLoader.load(bytes: bytes, file: spec.path, format: format)
        } catch {
            throw LoadFailure(message: error.description)
        }
        let featureNames = try presentFeatures(model, spec: spec)
        let labels = try presentLabels(model, spec: spec)
        return ServedForest(
            backend: backend.name, spec: spec, model: model,
            identity: identity(bytes: bytes, format: model.format),
            fingerprint: fingerprint, featureNames: featureNames, classLabels: labels, metrics: metrics
        )
    }

    private static func presentFeatures(_ model: ForestModel, spec: ForestModelSpec) throws(LoadFailure) -> [String]? {
        guard let names = spec.featureNames else { return model.featureNames }
        guard names.count == model.featureCount else {
            throw LoadFailure(
                message: "feature_names lists \(names.count) names, the model in \(spec.path) takes \(model.featureCount) features")
        }
        return names
    }

    private static func presentLabels(_ model: ForestModel, spec: ForestModelSpec) throws(LoadFailure) -> [ClassLabel]? {
        guard case .classification(let fileLabels, _) = model.head else {
            if spec.classLabels != nil {
                throw LoadFailure(message: "class_labels is set, but the model in \(spec.path) is a regressor")
            }
            return nil
        }
        if let names = spec.classLabels {
            guard names.count == fileLabels.count else {
                throw LoadFailure(
                    message: "class_labels lists \(names.count) names, the model in \(spec.path) has \(fileLabels.count) classes")
            }
            return names.map(ClassLabel.name)
        }
        switch fileLabels {
        case .integers(let values): return values.map(ClassLabel.integer)
        case .strings(let names): return names.map(ClassLabel.name)
        }
    }

    /// Rows are stored as label index and values, so only what computes them counts: the
    /// file's bytes and how they are read. Renaming classes or features keeps the rows warm.
    private static func identity(bytes: [UInt8], format: ForestFormat) -> CacheKey {
        var hasher = SHA256Hasher()
        hasher.updateField("tollgate-forest-v1")
        hasher.updateField(format.rawValue)
        bytes.withUnsafeBytes { hasher.updateField($0) }
        return hasher.finalize()
    }
}
