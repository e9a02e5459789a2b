/// One request from its first prompt chunk to its last token, advanced one batched step at a time
/// on the engine thread: `prefilling` (prompt chunks) → `decoding` (one token per step) → done.
///
/// Everything that decides the output lives here, per sequence (its sampler and seed, stop
/// matcher, text decoder, history), so a sequence generates the same tokens whatever else shares
/// its steps; the engine only decides which sequences run in a step.
final class GenerationRun<Predictor: TokenPredictor> {
    enum Phase {
        case prefilling
        case decoding
    }

    /// What a step did to the sequence.
    enum Progress {
        case running
        case done(Result<GenerationSummary, EngineError>)
    }

    let job: TransformerEngine<Predictor>.Job
    let predictor: Predictor
    let tokenizer: Tokenizer
    /// KV memory the engine set aside for this sequence at its longest (prompt + max tokens).
    let reservedBytes: Int
    private(set) var phase = Phase.prefilling
    private var state: Predictor.State?
    /// This sequence's next-token logits, written by the step that evaluates its last token.
    let logits: UnsafeMutableBufferPointer<Float>

    private var request: GenerationRequest { job.request }
    /// Prompt positions taken from the prefix cache instead of computed.
    private var reused = 0
    /// Prompt positions in the state (reused or evaluated).
    private var offset = 0
    /// Prompt and generated tokens so far.
    private var history: [Int32]
    /// The sampled token the next step evaluates.
    private var nextToken: Int32 = 0

    private var sampler: TokenSampler
    private var text: CompletionText
    private var raw: [Float] = []
    private var generated = 0
    private var sumLogProbability = 0.0
    private var started = 0.0
    private var prefillSeconds = 0.0
    private var decodeStart = 0.0
    private var firstTokenAt: Double?

    init(job: TransformerEngine<Predictor>.Job, predictor: Predictor, tokenizer: Tokenizer, reservedBytes: Int) {
        self.job = job
        self.predictor = predictor
        self.tokenizer = tokenizer
        self.reservedBytes = reservedBytes
        history = job.request.promptTokens
        sampler = TokenSampler(parameters: job.request.sampling)
        text = CompletionText(tokenizer: tokenizer, stop: job.request.stop)
        logits = .allocate(capacity: predictor.vocabularySize)
        logits.initialize(repeating: 0)
    }

    deinit {
        if state != nil { close() }
        logits.deallocate()
    }

    static var cancelled: EngineError { EngineError(.cancelled, "The request was cancelled.") }

    /// Why `request` can never run on `predictor` (checked before it takes a place in the batch).
    static func refusal(of request: GenerationRequest, predictor: Predictor) -> EngineError? {
        let prompt = request.promptTokens
        guard !prompt.isEmpty else {
            return EngineError(.evaluation, "The prompt is empty after tokenisation.")
        }
        guard prompt.count < predictor.contextLength else {
            return EngineError(
                .contextExceeded,
                "The prompt is \(prompt.count) tokens; this model's context holds \(predictor.contextLength), "
                    + "including at least one generated token."
            )
        }
        let vocabulary = predictor.vocabularySize
        if let bad = prompt.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
            return EngineError(.evaluation, "Prompt token \(bad) is outside the vocabulary of \(vocabulary).")
        }
        let needed = predictor.kvBytes(positions: longest(request, predictor: predictor))
        guard needed <= predictor.kvCapacityBytes else {
            return EngineError(
                .contextExceeded,
                "The prompt and max_tokens need \(needed) bytes of KV memory; this engine holds "
                    + "\(predictor.kvCapacityBytes). Lower max_tokens or shorten the prompt."
            )
        }
        return nil
    }

    /// Positions the request's sequence holds at most.
    static func longest(_ request: GenerationRequest, predictor: Predictor) -> Int {
        let prompt = request.promptTokens.count
        let room = predictor.contextLength - prompt
        return prompt + min(max(1, request.maxTokens), max(room, 0))
    }

    /// Takes the sequence's state (reusing a cached prefix where it may). Nil when it started.
    func start() -> EngineError? {
        if job.ticket.isCancelled { return Self.cancelled }
        started = MonotonicTime.now()
        do {
            if let scope = request.prefixScope {
                let (state, reused) = try predictor.makeState(reusing: request.promptTokens, scope: scope)
                self.state = state
                self.reused = reused
                offset = reused
            } else {
                state = try predictor.makeState()
            }
        } catch {
            return EngineError(.evaluation, "Cannot start a sequence: \(error)")
        }
        return nil
    }

    /// What this sequence adds to the next step: its next token when decoding, else the next
    /// `budget` (at least one) prompt tokens; logits only for the prompt's last token.
    func input(prefillBudget budget: Int) -> PredictorStep<Predictor.State> {
        let tokens: [Int32]
        let wantsLogits: Bool
        switch phase {
        case .decoding:
            tokens = [nextToken]
            wantsLogits = true
        case .prefilling:
            let prompt = request.promptTokens
            let end = min(prompt.count, offset + max(1, budget))
            tokens = Array(prompt[offset..<end])
            wantsLogits = end == prompt.count
        }
        return PredictorStep(state: state!, tokens: tokens, logits: wantsLogits ? logits : nil)
    }

    /// Takes back the state after the step evaluated `input`, and samples when it gave logits.
    func advance(after input: PredictorStep<Predictor.State>) -> Progress {
        state = input.state
        switch phase {
        case .decoding:
            return sample()
        case .prefilling:
            offset += input.tokens.count
            guard offset == request.promptTokens.count else { return .running }
            let now = MonotonicTime.now()
            prefillSeconds = now - started
            decodeStart = now
            // The prompt is reusable from now on, whatever happens to the rest.
            if let scope = request.prefixScope { predictor.keep(state!, tokens: request.promptTokens, scope: scope) }
            phase = .decoding
            return sample()
        }
    }

    /// The step failed for this sequence.
    func failure(_ error: Error) -> Progress {
        switch phase {
        case .prefilling:
            .done(.failure(EngineError(.evaluation, "Evaluating the prompt failed: \(error)")))
        case .decoding:
            .done(.failure(EngineError(.evaluation, "Evaluating token \(history.count) failed: \(error)")))
        }
    }

    /// Offers what the sequence holds to the prefix cache and gives its memory back (once).
    func close() {
        guard var state else { return }
        if let scope = request.prefixScope { predictor.keep(state, tokens: history, scope: scope) }
        predictor.release(&state)
        self.state = nil
    }

    /// Picks the next token from `logits`, streams what it completes and decides whether to go on.
    private func sample() -> Progress {
        // Log-probabilities come from the model's distribution before penalties and temperature.
        raw.removeAll(keepingCapacity: true)
        raw.append(contentsOf: logits)
        let token = sampler.sample(logits: logits, history: history[...])
        if firstTokenAt == nil { firstTokenAt = MonotonicTime.now() }
        let logProbability = raw.withUnsafeBufferPointer {
            LogProbabilities.of(token: token, logits: $0, top: max(0, request.logprobs ?? 0))
        }
        if tokenizer.isEndOfGeneration(token) && !request.ignoreEndOfGeneration {
            return .done(.success(finish(.stop)))
        }
        generated += 1
        sumLogProbability += Double(logProbability.logProbability)
        history.append(token)
        let generatedToken = GeneratedToken(
            id: token,
            bytes: tokenizer.piece(token),
            logProbability: logProbability.logProbability,
            top: logProbability.top.map {
                GeneratedAlternative(id: $0.token, bytes: tokenizer.piece($0.token), logProbability: $0.logProbability)
            }
        )
        let (event, stopped) = text.append(generatedToken)
        if let event { job.emit(event) }
        if stopped { return .done(.success(summary(.stop))) }
        if generated >= max(1, request.maxTokens) || history.count >= predictor.contextLength {
            return .done(.success(finish(.length)))
        }
        nextToken = token
        return .running
    }

    /// Flushes what the decoder and the stop matcher still hold (final text now) and sums up.
    private func finish(_ reason: FinishReason) -> GenerationSummary {
        let (event, stopped) = text.finish()
        if let event { job.emit(event) }
        return summary(stopped ? .stop : reason)
    }

    private func summary(_ finish: FinishReason) -> GenerationSummary {
        let now = MonotonicTime.now()
        return GenerationSummary(
            finishReason: finish,
            promptTokens: request.promptTokens.count,
            completionTokens: generated,
            cachedPromptTokens: reused,
            timeToFirstToken: (firstTokenAt ?? now) - job.submitted,
            prefillSeconds: prefillSeconds,
            decodeSeconds: now - decodeStart,
            sumLogProbability: sumLogProbability
        )
    }
}
