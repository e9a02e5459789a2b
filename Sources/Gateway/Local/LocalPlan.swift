import LocalModels
import Router

/// A chat or completion request made ready for one loaded model: the request read, the prompt
/// tokenised, the limits that the context leaves.
struct LocalPlan: Sendable {
    let served: ServedLanguageModel
    let parsed: LocalCompletionRequest
    let generation: GenerationRequest

    init(request: InferenceRequest, served: ServedLanguageModel) throws(GatewayError) {
        try self.init(request: request, parsed: LocalCompletionRequest(body: request.body, kind: request.kind), served: served)
    }

    init(request: InferenceRequest, parsed: LocalCompletionRequest, served: ServedLanguageModel) throws(GatewayError) {
        self.served = served
        self.parsed = parsed
        let model = served.model
        let tokens: [Int32]
        switch parsed.prompt {
        case .chat(let messages):
            tokens = Self.chatTokens(messages, model: model)
        case .text(let text):
            tokens = model.tokenizer.encode(text, addSpecial: true, parseSpecial: true)
        case .tokens(let ids):
            let vocabulary = model.vocabularySize
            guard let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabulary }) else {
                tokens = ids
                break
            }
            throw .badRequest("prompt token \(bad) is outside this model's vocabulary of \(vocabulary).", param: "prompt")
        }
        guard !tokens.isEmpty else {
            throw .badRequest("The prompt is empty: this model adds no BOS token, so give it some text.", param: "prompt")
        }
        let context = model.contextLength
        guard tokens.count < context else {
            throw GatewayError(
                status: .badRequest,
                message: "This model's context holds \(context) tokens; the prompt is \(tokens.count) tokens "
                    + "(at least one more is needed to generate).",
                code: "context_length_exceeded", param: request.kind == .chat ? "messages" : "prompt")
        }
        let room = context - tokens.count
        generation = GenerationRequest(
            promptTokens: tokens,
            maxTokens: min(parsed.maxTokens ?? served.spec.defaultMaxTokens, room),
            sampling: parsed.sampling,
            stop: parsed.stop + (request.kind == .chat ? model.template.stopStrings : []),
            logprobs: parsed.logprobs,
            tenant: request.tenant,
            ignoreEndOfGeneration: parsed.ignoreEndOfGeneration,
            // KV state is the tenant's own, as its cache entries are, unless the route shares those.
            prefixScope: request.route.cache.scope == .shared ? "shared" : request.tenant
        )
    }

    /// A conversation in the model's template. One that ends with an assistant message asks for
    /// that message to be continued (as llama.cpp's server does): the turns before it are
    /// rendered with the assistant's opening, then its text follows with no end of turn.
    static func chatTokens(_ messages: [ChatMessage], model: LanguageModel) -> [Int32] {
        guard let last = messages.last, last.role == "assistant" else {
            return model.chatPrompt(messages)
        }
        let opening = model.template.render(Array(messages.dropLast()), addGenerationPrompt: true)
        return model.tokenizer.encode(opening + last.content, addSpecial: true, parseSpecial: true)
    }
}
