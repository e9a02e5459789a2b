import LocalModels
import Router

/// A loaded GGUF encoder backend (`bert`): the embedding engine that runs it and what it was loaded from.
final class ServedEncoder: Sendable {
    let backend: String
    let spec: LanguageModelSpec
    let engine: EmbeddingEngine
    let fingerprint: FileFingerprint
    let metrics: EncoderMetrics

    init(backend: String, spec: LanguageModelSpec, engine: EmbeddingEngine, fingerprint: FileFingerprint, metrics: EncoderMetrics) {
        self.backend = backend
        self.spec = spec
        self.engine = engine
        self.fingerprint = fingerprint
        self.metrics = metrics
    }

    var dimensions: Int { engine.encoder.dimensions }

    func isUnchanged(spec: LanguageModelSpec, fingerprint: FileFingerprint) -> Bool {
        self.spec == spec && self.fingerprint == fingerprint
    }

    static func configuration(for spec: LanguageModelSpec) -> EmbeddingEngineConfiguration {
        EmbeddingEngineConfiguration(maxQueued: spec.maxQueue)
    }
}
