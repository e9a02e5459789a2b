/// One request from prefill to its last token, on the engine thread.
struct GenerationRun<Predictor: TokenPredictor> {
    let job: TransformerEngine<Predictor>.Job
    let predictor: Predictor
    let tokenizer: Tokenizer
    let configuration: EngineConfiguration

    private var request: GenerationRequest { job.request }
    /// Prompt positions taken from the prefix cache instead of computed.
    var reused = 0

    mutating func execute(logits: UnsafeMutableBufferPointer<Float>) -> Result<GenerationSummary, EngineError> {
        if job.ticket.isCancelled { return .failure(Self.cancelled) }
        let prompt = request.promptTokens
        guard !prompt.isEmpty else {
            return .failure(EngineError(.evaluation, "The prompt is empty after tokenisation."))
        }
        guard prompt.count < predictor.contextLength else {
            return .failure(
                EngineError(
                    .contextExceeded,
                    "The prompt is \(prompt.count) tokens; this model's context holds \(predictor.contextLength), "
                        + "including at least one generated token."
                )
            )
        }
        var state: Predictor.State
        var offset = 0
        do {
            if let scope = request.prefixScope {
                (state, offset) = try predictor.makeState(reusing: prompt, scope: scope)
            } else {
                state = try predictor.makeState()
            }
        } catch {
            return .failure(EngineError(.evaluation, "Cannot start a sequence: \(error)"))
        }
        reused = offset
        var history = prompt
        defer {
            if let scope = request.prefixScope { predictor.keep(state, tokens: history, scope: scope) }
            predictor.release(&state)
        }

        let prefillStart = MonotonicTime.now()
        let chunk = max(1, configuration.prefillChunk)
        while offset < prompt.count {
            if job.ticket.isCancelled { return .failure(Self.cancelled) }
            let end = min(prompt.count, offset + chunk)
            do {
                try predictor.evaluate(
                    Array(prompt[offset..<end]), state: &state, logits: end == prompt.count ? logits : nil)
            } catch {
                return .failure(EngineError(.evaluation, "Evaluating the prompt failed: \(error)"))
            }
            offset = end
        }
        let prefillSeconds = MonotonicTime.now() - prefillStart
        // The prompt is reusable from now on, whatever happens to the rest.
        if let scope = request.prefixScope { predictor.keep(state, tokens: prompt, scope: scope) }
        return decode(state: &state, history: &history, logits: logits, prefillSeconds: prefillSeconds)
    }

    private static var cancelled: EngineError { EngineError(.cancelled, "The request was cancelled.") }

    private func decode(
        state: inout Predictor.State,
        history: inout [Int32],
        logits: UnsafeMutableBufferPointer<Float>,
        prefillSeconds: Double
    ) -> Result<GenerationSummary, EngineError> {
        let decodeStart = MonotonicTime.now()
        var sampler = TokenSampler(parameters: request.sampling)
        var decoder = StreamingTextDecoder(tokenizer: tokenizer)
        var stops = StopSequenceMatcher(stops: request.stop)
        var pending: [GeneratedToken] = []
        var generated = 0
        var firstTokenAt: Double?
        var sumLogProbability = 0.0
        var raw: [Float] = []
        let maxTokens = max(1, request.maxTokens)
        var finish: FinishReason = .length

        generation: while true {
            if job.ticket.isCancelled { return .failure(Self.cancelled) }
            // Log-probabilities come from the model's distribution before penalties and temperature.
            raw.removeAll(keepingCapacity: true)
            raw.append(contentsOf: logits)
            let token = sampler.sample(logits: logits, history: history[...])
            if firstTokenAt == nil { firstTokenAt = MonotonicTime.now() }
            let logProbability = raw.withUnsafeBufferPointer {
                LogProbabilities.of(token: token, logits: $0, top: max(0, request.logprobs ?? 0))
            }
            if tokenizer.isEndOfGeneration(token) && !request.ignoreEndOfGeneration {
                finish = .stop
                break generation
            }
            generated += 1
            sumLogProbability += Double(logProbability.logProbability)
            history.append(token)
            pending.append(
                GeneratedToken(
                    id: token,
                    bytes: tokenizer.piece(token),
                    logProbability: logProbability.logProbability,
                    top: logProbability.top.map {
                        GeneratedAlternative(id: $0.token, bytes: tokenizer.piece($0.token), logProbability: $0.logProbability)
                    }
                )
            )
            let (text, stopped) = stops.append(decoder.append(token))
            if !text.isEmpty || stopped {
                job.emit(.text(text, tokens: pending))
                pending.removeAll()
            }
            if stopped {
                finish = .stop
                return .success(summary(.stop, generated, firstTokenAt, prefillSeconds, decodeStart, sumLogProbability))
            }
            if generated >= maxTokens || history.count >= predictor.contextLength {
                finish = .length
                break generation
            }
            do {
                try predictor.evaluate([token], state: &state, logits: logits)
            } catch {
                return .failure(EngineError(.evaluation, "Evaluating token \(history.count) failed: \(error)"))
            }
        }
        // Whatever the decoder and the stop matcher still hold is final text now.
        let (tail, stopped) = stops.append(decoder.finish())
        let rest = stopped ? tail : tail + stops.finish()
        if !rest.isEmpty || !pending.isEmpty { job.emit(.text(rest, tokens: pending)) }
        if stopped { finish = .stop }
        return .success(summary(finish, generated, firstTokenAt, prefillSeconds, decodeStart, sumLogProbability))
    }

    private func summary(
        _ finish: FinishReason,
        _ generated: Int,
        _ firstTokenAt: Double?,
        _ prefillSeconds: Double,
        _ decodeStart: Double,
        _ sumLogProbability: Double
    ) -> GenerationSummary {
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
