import Foundation

/// How to load a language model for serving.
public struct LanguageModelOptions: Sendable, Hashable {
    /// Positions per sequence; 0 takes the file's context length, capped at `maxDefaultContext`.
    public var contextSize: Int = 0
    /// Threads for matrix work, the caller included; 0 = one per core.
    public var threads: Int = 0
    public var kvStorage: KVCache.Storage = .f16
    /// Sequences whose KV state fits in the cache at full context: the engine runs more at once
    /// only when they are shorter (a request that does not fit waits for memory to free).
    public var sequences: Int = 1
    /// A chat template family overriding the one detected from the file.
    public var chatTemplate: String?
    /// Tokens per forward pass.
    public var chunkSize: Int = 256
    /// KV memory kept for earlier prompts' prefixes, on top of the sequences' own; nil: as much
    /// as one sequence at full context; 0: no prefix reuse.
    public var prefixCacheBytes: Int?

    public static let maxDefaultContext = 8192

    public init() {}
}

/// A GGUF language model ready to generate: the mapped file, the network, its KV cache, its
/// tokenizer and chat template. Loading checks everything a request would later need, so a bad
/// file fails here with a `GGUFLoadError` (or a `ChatTemplateError`), not at the first request.
public final class LanguageModel: TokenPredictor, @unchecked Sendable {
    public typealias State = KVSequence

    public let file: GGUFFile
    public let model: TransformerModel
    public let cache: KVCache
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let pool: EngineThreadPool?
    public let contextLength: Int
    /// Earlier sequences' KV blocks, reused by prompts that start the same way; nil when disabled.
    public let prefixCache: PrefixCache?

    public init(path: String, options: LanguageModelOptions = LanguageModelOptions()) throws {
        let file = try GGUFFile(path: path)
        let tokenizer = try Tokenizer(gguf: file)
        let template = try ChatTemplate(modelTemplate: file.string("tokenizer.chat_template"), override: options.chatTemplate)
        let fileContext = try TransformerConfiguration(gguf: file).contextLength
        let context = options.contextSize > 0
            ? options.contextSize : min(fileContext > 0 ? fileContext : Self.fallbackContext, LanguageModelOptions.maxDefaultContext)
        let threads = options.threads > 0 ? options.threads : Self.defaultThreads
        let pool = threads > 1 ? EngineThreadPool(threads: threads) : nil
        let model = try TransformerModel(file: file, pool: pool, chunkSize: options.chunkSize, contextLength: context)
        guard tokenizer.vocabularySize <= model.configuration.vocabularySize else {
            throw GGUFLoadError(
                file: path, part: "tokenizer.ggml.tokens",
                reason: "\(tokenizer.vocabularySize) tokens, but the output head has \(model.configuration.vocabularySize) rows")
        }
        let configuration = model.configuration
        let bytesPerPosition = configuration.blockCount * configuration.kvDimension * 2 * options.kvStorage.bytesPerElement
        let blockTokens = 16
        let blocksPerSequence = (context + blockTokens - 1) / blockTokens
        let sequenceBytes = blocksPerSequence * blockTokens * bytesPerPosition
        let prefixBytes = max(0, options.prefixCacheBytes ?? sequenceBytes)
        self.cache = try model.makeCache(
            maxBytes: sequenceBytes * max(1, options.sequences) + prefixBytes,
            blockTokens: blockTokens, storage: options.kvStorage)
        let prefixBlocks = prefixBytes / (blockTokens * bytesPerPosition)
        self.prefixCache = prefixBlocks > 0 ? PrefixCache(cache: cache, capacityBlocks: prefixBlocks) : nil
        self.file = file
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.pool = pool
        self.contextLength = context
    }

    /// One thread per core: the engine thread and one pool worker on this 2-core kind of machine.
    static var defaultThreads: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Context for a file that does not say.
    static let fallbackContext = 2048

    public var vocabularySize: Int { model.configuration.vocabularySize }
    public var kvBytesInUse: Int { cache.bytesInUse }

    public func makeState() throws -> KVSequence { cache.makeSequence() }

    public func evaluate(_ tokens: [Int32], state: inout KVSequence, logits: UnsafeMutableBufferPointer<Float>?) throws {
        let values = try model.evaluate(tokens: tokens, sequence: state, logits: logits == nil ? .none : .last)
        guard let logits else { return }
        precondition(values.count == logits.count, "logits buffer does not match the vocabulary")
        _ = logits.update(fromContentsOf: values)
    }

    public func evaluate(batch: inout [PredictorStep<KVSequence>]) throws {
        let entries = batch.map {
            TransformerBatchEntry(sequence: $0.state, tokens: $0.tokens, logits: $0.logits == nil ? .none : .last)
        }
        // Cached prefixes nobody uses give way to running sequences, only when the pool runs short.
        if let prefixCache {
            let needed = cache.blocksNeeded(entries.map(\.sequence), adding: entries.map(\.tokens.count))
            if needed > cache.freeBlocks { prefixCache.makeRoom(forBlocks: needed) }
        }
        let values = try model.evaluate(batch: entries)
        for (entry, logits) in zip(batch, values) {
            guard let buffer = entry.logits else { continue }
            precondition(logits.count == buffer.count, "logits buffer does not match the vocabulary")
            _ = buffer.update(fromContentsOf: logits)
        }
    }

    public var kvCapacityBytes: Int { cache.capacityBytes }

    public func kvBytes(positions: Int) -> Int { cache.blocksCovering(max(0, positions)) * cache.blockBytes }

    public func release(_ state: inout KVSequence) {
        state.truncate(to: 0)
    }

    public func makeState(reusing prompt: [Int32], scope: String) throws -> (state: KVSequence, reused: Int) {
        guard let prefixCache else { return (cache.makeSequence(), 0) }
        let (sequence, reused) = prefixCache.sequence(reusing: prompt, scope: scope)
        return (sequence, reused)
    }

    public func keep(_ state: KVSequence, tokens: [Int32], scope: String) {
        prefixCache?.store(state, tokens: tokens, scope: scope)
    }

    /// The prompt tokens for a chat: the rendered template, tokenised with the special tokens it
    /// names (and the BOS the model adds), as llama.cpp's server does.
    public func chatPrompt(_ messages: [ChatMessage]) -> [Int32] {
        tokenizer.encode(template.render(messages, addGenerationPrompt: true), addSpecial: true, parseSpecial: true)
    }
}
