import LocalModels
import Router

/// A loaded GGUF backend: the model, the engine thread that runs it, and what it was loaded from.
final class ServedLanguageModel: Sendable {
    let backend: String
    let spec: LanguageModelSpec
    let model: LanguageModel
    let engine: TransformerEngine<LanguageModel>
    let fingerprint: FileFingerprint
    let metrics: LanguageModelMetrics

    init(backend: String, spec: LanguageModelSpec, model: LanguageModel, fingerprint: FileFingerprint, metrics: LanguageModelMetrics) {
        self.backend = backend
        self.spec = spec
        self.model = model
        self.fingerprint = fingerprint
        self.metrics = metrics
        self.engine = TransformerEngine(
            predictor: model,
            tokenizer: model.tokenizer,
            configuration: EngineConfiguration(
                maxQueued: spec.maxQueue, prefillChunk: spec.prefillChunk, defaultMaxTokens: spec.defaultMaxTokens,
                maxBatch: spec.maxBatch)
        )
    }

    func isUnchanged(spec: LanguageModelSpec, fingerprint: FileFingerprint) -> Bool {
        self.spec == spec && self.fingerprint == fingerprint
    }

    static func options(for spec: LanguageModelSpec) -> LanguageModelOptions {
        var options = LanguageModelOptions()
        options.contextSize = spec.contextSize
        options.threads = spec.threads
        options.kvStorage = spec.kvCacheType == "f32" ? .f32 : .f16
        options.chatTemplate = spec.chatTemplate
        options.chunkSize = spec.prefillChunk
        options.prefixCacheBytes = spec.prefixCacheBytes
        // KV memory for every place in the batch at full context (pages are committed only as used).
        options.sequences = spec.maxBatch
        return options
    }
}
