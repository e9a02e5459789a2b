/// One completion for the engine to produce: the prompt already tokenised, and how to sample.
public struct GenerationRequest: Sendable {
    public var promptTokens: [Int32]
    /// Tokens to generate at most; the context size may cut it shorter (finish reason `length`).
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Text that ends the completion; the stop string itself is not part of the output.
    public var stop: [String]
    /// Alternatives to report per generated token for `top_logprobs`; nil reports no log-probabilities.
    public var logprobs: Int?
    /// Who asked: the queue takes tenants in turn so one tenant's burst does not starve the others.
    public var tenant: String
    /// Keep going past end-of-generation tokens (llama.cpp's `ignore_eos`).
    public var ignoreEndOfGeneration: Bool
    /// Whose cached prompt prefixes the request may reuse and adds to (a tenant, or a shared
    /// scope); nil: none, and it leaves nothing behind.
    public var prefixScope: String?

    public init(
        promptTokens: [Int32],
        maxTokens: Int,
        sampling: SamplingParameters = SamplingParameters(),
        stop: [String] = [],
        logprobs: Int? = nil,
        tenant: String = "",
        ignoreEndOfGeneration: Bool = false,
        prefixScope: String? = nil
    ) {
        self.prefixScope = prefixScope
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.logprobs = logprobs
        self.tenant = tenant
        self.ignoreEndOfGeneration = ignoreEndOfGeneration
    }
}
