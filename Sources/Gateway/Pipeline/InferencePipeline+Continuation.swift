import Cache
import LocalModels
import Router

/// What the continuation index keeps of a local completion: its tokens with their
/// log-probabilities, and how it ended.
struct RecordedCompletion: Sendable {
    var tokens: [GeneratedToken]
    var ending: CompletionReplay.Ending
    /// Alternatives recorded per token (a request asking for more cannot be answered).
    var topLogprobs: Int

    /// Bytes held, for the index's budget.
    var weight: Int {
        tokens.reduce(0) { total, token in
            total + 40 + token.bytes.count + token.top.reduce(0) { $0 + 40 + $1.bytes.count }
        }
    }
}

/// Which deterministic completions can answer a request: one family per model (file and
/// settings), cache scope, route and sampling settings under which a token sequence always
/// continues the same way.
struct ContinuationFamily: Equatable {
    let id: UInt64
    /// Completion tokens a request's prompt may already hold. Unbounded for greedy requests
    /// (their penalties see the same history either way); 0 for seeded sampling, whose
    /// generator would have made draws for those tokens.
    let maxOffset: Int

    /// Nil when the request samples differently on every call (no seed, temperature above 0).
    init?(_ plan: LocalPlan, scope: String, route: String) {
        let sampling = plan.generation.sampling
        var hasher = Hasher()
        hasher.combine(plan.served.backend)
        hasher.combine(plan.served.fingerprint)
        hasher.combine(plan.served.spec)
        hasher.combine(scope)
        hasher.combine(route)
        hasher.combine(plan.generation.ignoreEndOfGeneration)
        if sampling.isGreedy {
            // Greedy picks the top logit after the penalties; nothing else of the sampler counts.
            hasher.combine("greedy")
            hasher.combine(sampling.repetitionPenalty)
            hasher.combine(sampling.frequencyPenalty)
            hasher.combine(sampling.presencePenalty)
            hasher.combine(sampling.penaltyWindow)
            maxOffset = .max
        } else if sampling.seed != nil {
            hasher.combine(sampling)
            maxOffset = 0
        } else {
            return nil
        }
        id = UInt64(bitPattern: Int64(hasher.finalize()))
    }
}

extension InferencePipeline {
    /// Answers a deterministic local chat or completion from a cached completion that already
    /// holds it: its prompt is a cached prompt plus the start of that completion, or the same
    /// prompt with a smaller token limit. True when it answered. The tokenised prompt is kept
    /// in `request` for the engine when it did not.
    func answerFromContinuation(
        _ request: inout InferenceRequest, sink: some ResponseSink, outcome: inout ResponseOutcome
    ) -> Bool {
        guard let continuations, request.cacheKey != nil, request.directives.allowsLookup,
            request.route.cache.prefix, request.kind == .chat || request.kind == .completion,
            let (backend, served) = localModel(for: request.route),
            let parsed = try? LocalCompletionRequest(body: request.body, kind: request.kind),
            parsed.sampling.isGreedy || parsed.sampling.seed != nil
        else { return false }
        guard let plan = try? LocalPlan(request: request, parsed: parsed, served: served) else { return false }
        let scope = request.route.cache.scope == .shared ? "shared" : request.tenant
        guard let family = ContinuationFamily(plan, scope: scope, route: request.route.name),
            continuations.holds(family: family.id)
        else { return false }
        request.localPlan = plan

        let now = Clock.wallNow()
        let generation = plan.generation
        let directives = request.directives
        let matches = continuations.lookup(
            family: family.id, query: generation.promptTokens, maxOffset: family.maxOffset, now: now,
            accepts: { directives.accepts($0, now: now) })
        for match in matches {
            let recorded = match.record.value
            guard (generation.logprobs ?? 0) <= recorded.topLogprobs,
                let replay = CompletionReplay.replay(
                    recorded.tokens[match.offset...], ending: recorded.ending, tokenizer: served.model.tokenizer,
                    maxTokens: generation.maxTokens, stop: generation.stop, topLogprobs: generation.logprobs)
            else { continue }
            let entry = continuationEntry(replay, request: request, plan: plan, backend: backend)
            // The answer is an entry of its own from now on: a repeat is an exact hit.
            store(entry, now: now)
            respondFromCache(
                entry, request: request, detail: "prefix", ttl: match.record.metadata.ttl(now: now),
                age: match.record.metadata.age(now: now), sink: sink, outcome: &outcome)
            return true
        }
        return false
    }

    /// Keeps a finished local completion for later continuations, when its request was deterministic.
    func recordContinuation(
        _ plan: LocalPlan, request: InferenceRequest, entry: CachedResponse, tokens: [GeneratedToken],
        summary: GenerationSummary
    ) {
        guard let continuations, request.storable, request.route.cache.prefix, !tokens.isEmpty,
            entry.byteCount <= maxEntryBytes,
            let family = ContinuationFamily(plan, scope: entry.metadata.tenant, route: request.route.name)
        else { return }
        let generation = plan.generation
        let ending = CompletionReplay.ending(
            of: tokens, finishReason: summary.finishReason, tokenizer: plan.served.model.tokenizer, stop: generation.stop)
        let recorded = RecordedCompletion(tokens: tokens, ending: ending, topLogprobs: generation.logprobs ?? 0)
        continuations.insert(
            metadata: entry.metadata, family: family.id, prompt: generation.promptTokens, completion: tokens.map(\.id),
            isFinal: ending == .endOfGeneration, value: recorded, valueBytes: recorded.weight, now: Clock.wallNow())
    }

    /// The first loaded GGUF model among the route's backends, primaries before fallbacks.
    private func localModel(for route: RoutePolicy) -> (BackendPolicy, ServedLanguageModel)? {
        let catalog = policies.languageModels
        let backends = policies.table.backends
        for name in route.backends.map(\.backend) + route.fallbacks {
            if let served = catalog[name], let backend = backends[name] { return (backend, served) }
        }
        return nil
    }

    /// The answer a replay gives, as the engine's would have been written and stored.
    private func continuationEntry(
        _ replay: CompletionReplay.Result, request: InferenceRequest, plan: LocalPlan, backend: BackendPolicy
    ) -> CachedResponse {
        var transcript = LocalTranscript(request: request, logprobs: plan.generation.logprobs)
        for case .text(let text, let tokens) in replay.events { _ = transcript.text(text, tokens: tokens) }
        let prompt = plan.generation.promptTokens.count
        let summary = GenerationSummary(
            finishReason: replay.finishReason, promptTokens: prompt, completionTokens: replay.completionTokens,
            cachedPromptTokens: prompt, sumLogProbability: replay.sumLogProbability)
        let written = transcript.finish(summary)
        return makeEntry(
            request: request, body: written.body, events: transcript.events, usageEventIndex: written.usageIndex,
            backend: backend, usage: .known(TokenUsage(promptTokens: prompt, completionTokens: replay.completionTokens)))
    }
}
