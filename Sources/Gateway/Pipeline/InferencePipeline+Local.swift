import Cache
import LocalModels
import NIOConcurrencyHelpers
import NIOHTTP1
import Router

extension InferencePipeline {
    /// One attempt on a local GGUF backend. The engine's tokens become the same SSE chunks an
    /// upstream would send: relayed to the flight as they come when the client streams, and
    /// assembled into the JSON answer that the cache stores either way.
    func attemptLocal(
        _ backend: BackendPolicy,
        flight: Flight?,
        streaming wantsStream: Bool,
        request: InferenceRequest,
        timeoutSeconds: Double
    ) async -> AttemptOutcome {
        let catalog = policies.languageModels
        guard let served = catalog[backend.name] else {
            let reason = catalog.failures[backend.name].map { "The model for backend '\(backend.name)' is not loaded: \($0)" }
                ?? "The model for backend '\(backend.name)' is not loaded."
            let error = GatewayError.unavailable(reason, code: "model_unavailable")
            return .failed(.status(503), .failed(error, backend: backend.name))
        }
        let generation: GenerationRequest
        do {
            generation = try localGeneration(request: request, served: served)
        } catch {
            return .done(.failed(error, backend: backend.name))
        }

        let streaming = wantsStream && request.kind.canStream
        let run = LocalRun(
            writer: LocalChunkWriter(
                kind: request.kind, model: request.match.requestedModel, logprobs: generation.logprobs,
                created: Int(Clock.wallNow()), id: (request.kind == .chat ? "chatcmpl-" : "cmpl-") + request.requestID),
            endpoint: request.kind.rawValue,
            relay: streaming ? flight : nil,
            backend: backend.name
        )
        let outcome = await run.execute(generation, on: served.engine, timeoutSeconds: timeoutSeconds)
        served.metrics.observe(served.engine.snapshot)
        switch outcome {
        case .rejected(let error):
            served.metrics.rejected.increment()
            let gatewayError = GatewayError.unavailable(error.message, code: error.code.rawValue)
            var withRetry = gatewayError
            withRetry.headers.append(("retry-after", "1"))
            return .failed(.status(503), .failed(withRetry, backend: backend.name))
        case .timedOut:
            served.metrics.failed.increment()
            let message = "The local model '\(backend.name)' did not finish within \(Int(timeoutSeconds)) s."
            return .done(.failed(.gatewayTimeout(message), backend: backend.name))
        case .failed(let error):
            served.metrics.failed.increment()
            let status: HTTPResponseStatus = error.code == EngineError.Code.contextExceeded ? .badRequest : .internalServerError
            let gatewayError = GatewayError(status: status, message: error.message, code: error.code.rawValue)
            return .done(.failed(gatewayError, backend: backend.name))
        case .finished(let summary, let events, let usageIndex, let body):
            served.metrics.record(summary, statistics: served.engine.snapshot)
            let entry = makeEntry(request: request, body: body, events: events, usageEventIndex: usageIndex, backend: backend)
            return .done(.success(entry, stored: false, backend: backend.name))
        }
    }

    /// The request's prompt tokens and sampling settings for the engine.
    private func localGeneration(request: InferenceRequest, served: ServedLanguageModel) throws(GatewayError) -> GenerationRequest {
        let parsed = try LocalCompletionRequest(body: request.body, kind: request.kind)
        let model = served.model
        let tokens: [Int32]
        switch parsed.prompt {
        case .chat(let messages):
            tokens = model.chatPrompt(messages)
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
        return GenerationRequest(
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
}

/// One local completion in flight: turns engine events into chunks, relays them, and hands the
/// assembled answer back to the waiting task. Engine events arrive on the engine thread.
final class LocalRun: Sendable {
    enum Outcome: Sendable {
        case rejected(EngineError)
        case failed(EngineError)
        /// The backend's or the route's time ran out; the engine stopped the request.
        case timedOut
        case finished(GenerationSummary, events: [[UInt8]], usageIndex: Int, body: [UInt8])
    }

    private struct State {
        var writer: LocalChunkWriter
        var assembler: CompletionAssembler
        var events: [[UInt8]] = []
        var started = false
        var continuation: CheckedContinuation<Outcome, Never>?
        var ticket: GenerationTicket?
        var cancelled = false
        var timedOut = false
    }

    private let state: NIOLockedValueBox<State>
    private let relay: Flight?
    private let backend: String

    init(writer: LocalChunkWriter, endpoint: String, relay: Flight?, backend: String) {
        self.state = NIOLockedValueBox(State(writer: writer, assembler: CompletionAssembler(endpoint: endpoint)))
        self.relay = relay
        self.backend = backend
    }

    func execute(
        _ generation: GenerationRequest, on engine: TransformerEngine<LanguageModel>, timeoutSeconds: Double
    ) async -> Outcome {
        let timer = Task { [self] in
            try await Task.sleep(nanoseconds: UInt64(max(0.001, timeoutSeconds) * 1e9))
            let ticket = state.withLockedValue { state -> GenerationTicket? in
                state.timedOut = true
                state.cancelled = true
                return state.ticket
            }
            ticket?.cancel()
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                state.withLockedValue { $0.continuation = continuation }
                do {
                    let ticket = try engine.submit(generation) { [self] event in self.handle(event) }
                    let cancelNow = state.withLockedValue { state -> Bool in
                        state.ticket = ticket
                        return state.cancelled
                    }
                    if cancelNow { ticket.cancel() }
                } catch let error as EngineError {
                    resume(.rejected(error))
                } catch {
                    resume(.rejected(EngineError(.evaluation, "\(error)")))
                }
            }
        } onCancel: {
            let ticket = state.withLockedValue { state -> GenerationTicket? in
                state.cancelled = true
                return state.ticket
            }
            ticket?.cancel()
        }
    }

    private func resume(_ outcome: Outcome) {
        let continuation = state.withLockedValue { state -> CheckedContinuation<Outcome, Never>? in
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(returning: outcome)
    }

    private func handle(_ event: GenerationEvent) {
        switch event {
        case .text(let text, let tokens):
            let (payloads, opened) = state.withLockedValue { state -> ([[UInt8]], Bool) in
                let opening = open(&state)
                let chunk = state.writer.textChunk(text, tokens: tokens)
                record(chunk, in: &state)
                return (opening.payloads + [chunk], opening.opened)
            }
            publish(payloads, opened: opened, usage: false)
        case .finished(let summary):
            let (outcome, payloads, opened) = state.withLockedValue { state -> (Outcome, [[UInt8]], Bool) in
                let opening = open(&state)
                let finish = state.writer.finishChunk(summary.finishReason)
                record(finish, in: &state)
                let usage = state.writer.usageChunk(summary)
                let usageIndex = state.events.count
                record(usage, in: &state)
                let body = (try? state.assembler.assembled()) ?? []
                let outcome = Outcome.finished(summary, events: state.events, usageIndex: usageIndex, body: body)
                return (outcome, opening.payloads + [finish, usage], opening.opened)
            }
            publish(payloads.dropLast(), opened: opened, usage: false)
            publish(payloads.suffix(1), opened: false, usage: true)
            resume(outcome)
        case .failed(let error):
            let timedOut = state.withLockedValue { $0.timedOut }
            resume(timedOut && error.code == .cancelled ? .timedOut : .failed(error))
        }
    }

    /// The chat stream's opening role chunk, the first time anything is written (recorded already).
    private func open(_ state: inout State) -> (payloads: [[UInt8]], opened: Bool) {
        guard !state.started else { return ([], false) }
        state.started = true
        guard state.writer.kind == .chat else { return ([], true) }
        let role = state.writer.roleChunk()
        record(role, in: &state)
        return ([role], true)
    }

    private func record(_ payload: [UInt8], in state: inout State) {
        state.events.append(payload)
        try? state.assembler.add(event: payload)
    }

    private func publish(_ payloads: some Collection<[UInt8]>, opened: Bool, usage: Bool) {
        guard let relay else { return }
        if opened { relay.publish(.streamStarted(backend: backend)) }
        for payload in payloads { relay.publish(.event(payload, isUsage: usage)) }
    }
}
