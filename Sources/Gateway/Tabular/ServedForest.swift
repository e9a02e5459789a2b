import Cache
import LocalModels
import Router

/// A class label as the client sees it: the file's integer labels, or names (from the file or
/// from the policy's `class_labels`).
enum ClassLabel: Sendable, Equatable {
    case integer(Int64)
    case name(String)

    /// How the label is compared with the true label a client sends as feedback.
    var text: String {
        switch self {
        case .integer(let value): String(value)
        case .name(let name): name
        }
    }

    func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .integer(let value): out.append(contentsOf: String(value).utf8)
        case .name(let name): JSONText.appendQuoted(name, to: &out)
        }
    }
}

/// One `type = "forest"` backend, loaded and ready: the compiled model, how it is presented
/// (feature names, class labels, version) and the batcher that feeds it.
///
/// Immutable once built. A reload that changes the file or the declaration builds a new one
/// and swaps it in; requests that already hold this one finish on it, then it retires.
final class ServedForest: Sendable {
    let backend: String
    let spec: ForestModelSpec
    let forest: CompiledForest
    /// SHA-256 of the file's bytes and the presentation: part of every row's cache key, so a
    /// new model version never answers from the old one's rows.
    let identity: CacheKey
    let fingerprint: FileFingerprint
    let featureNames: [String]?
    let featureIndex: [String: Int]
    /// Nil for regressors.
    let classLabels: [ClassLabel]?
    let batcher: MicroBatcher

    init(backend: String, spec: ForestModelSpec, model: ForestModel, identity: CacheKey, fingerprint: FileFingerprint,
         featureNames: [String]?, classLabels: [ClassLabel]?, metrics: TabularMetrics) {
        self.backend = backend
        self.spec = spec
        self.forest = CompiledForest(model)
        self.identity = identity
        self.fingerprint = fingerprint
        self.featureNames = featureNames
        var index: [String: Int] = [:]
        for (position, name) in (featureNames ?? []).enumerated() { index[name] = position }
        self.featureIndex = index
        self.classLabels = classLabels
        self.batcher = MicroBatcher(
            name: backend, forest: forest,
            maxWaitMicros: spec.batchWaitMicros, maxBatchRows: spec.maxBatchRows,
            inlineMaxNanoseconds: UInt64(spec.inlineMaxMicros) * 1000,
            metrics: metrics.engine(backend: backend)
        )
    }

    var featureCount: Int { forest.featureCount }
    var isClassifier: Bool { classLabels != nil }
    var format: ForestFormat { forest.model.format }
    var version: String { spec.version }
    /// Values per row: class probabilities, or regression targets.
    var answerWidth: Int { forest.answerWidth }

    /// Whether `other` is the same file with the same declaration, so it can be kept as is.
    func isUnchanged(spec other: ForestModelSpec, fingerprint current: FileFingerprint) -> Bool {
        spec == other && fingerprint == current
    }
}
