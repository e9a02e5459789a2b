/// A GGUF language model served in-process (`type = "gguf"` in `[backends.<name>]`): its file
/// and how the engine runs it. The gateway loads the file; the router only carries the declaration.
public struct LanguageModelSpec: Sendable, Hashable, Encodable {
    /// Absolute path, resolved against the policy file's folder. Empty when `file_env` names a
    /// variable that is unset (the backend is then unconfigured).
    public var path: String
    /// The environment variable the path came from, when `file_env` was used.
    public var pathEnv: String?
    /// Positions per sequence; 0 takes the model's own context length (capped at 8192).
    public var contextSize: Int
    /// Threads for the matrix work, the engine thread included; 0 = one per core.
    public var threads: Int
    /// Requests that may wait for the engine; one more is answered 503.
    public var maxQueue: Int
    /// Prompt tokens evaluated per prefill step.
    public var prefillChunk: Int
    /// Sequences generating at once (continuous batching); 1 runs requests one at a time.
    public var maxBatch: Int
    /// Completion length for requests that set no `max_tokens`.
    public var defaultMaxTokens: Int
    /// `f16` (default, half the memory) or `f32` (exact).
    public var kvCacheType: String
    /// A chat template family that overrides the one detected from the file.
    public var chatTemplate: String?
    /// USD per million prompt tokens and per million generated tokens (budgets apply to local models too).
    public var pricePer1MInputTokens: Double
    public var pricePer1MOutputTokens: Double
    /// KV memory kept for earlier prompts' prefixes (reused by prompts that start the same way,
    /// within a tenant); nil: as much as one sequence at full context; 0 turns reuse off.
    public var prefixCacheBytes: Int?

    public init(
        path: String,
        pathEnv: String? = nil,
        contextSize: Int = 0,
        threads: Int = 0,
        maxQueue: Int = 64,
        prefillChunk: Int = 256,
        defaultMaxTokens: Int = 512,
        kvCacheType: String = "f16",
        chatTemplate: String? = nil,
        pricePer1MInputTokens: Double = 0,
        pricePer1MOutputTokens: Double = 0,
        prefixCacheBytes: Int? = nil,
        maxBatch: Int = 8
    ) {
        self.maxBatch = maxBatch
        self.prefixCacheBytes = prefixCacheBytes
        self.path = path
        self.pathEnv = pathEnv
        self.contextSize = contextSize
        self.threads = threads
        self.maxQueue = maxQueue
        self.prefillChunk = prefillChunk
        self.defaultMaxTokens = defaultMaxTokens
        self.kvCacheType = kvCacheType
        self.chatTemplate = chatTemplate
        self.pricePer1MInputTokens = pricePer1MInputTokens
        self.pricePer1MOutputTokens = pricePer1MOutputTokens
    }

    enum CodingKeys: String, CodingKey {
        case path, threads
        case pathEnv = "file_env"
        case contextSize = "context_size"
        case maxQueue = "max_queue"
        case prefillChunk = "prefill_chunk"
        case defaultMaxTokens = "default_max_tokens"
        case kvCacheType = "kv_cache_type"
        case chatTemplate = "chat_template"
        case pricePer1MInputTokens = "price_per_1m_input_tokens"
        case pricePer1MOutputTokens = "price_per_1m_output_tokens"
        case prefixCacheBytes = "prefix_cache_bytes"
        case maxBatch = "max_batch"
    }
}
