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
            let reason = catalog.unavailableReason(backend.name, wanted: "a chat or completion model")
            let error = GatewayError.unavailable(reason, code: "model_unavailable")
            return .failed(.status(503), .failed(error, backend: backend.name))
        }
        let plan: LocalPlan
        if let planned = request.localPlan, planned.served === served {
            // The continuation lookup tokenised the prompt already, on this very model.
            plan = planned
        } else {
            do {
                plan = try LocalPlan(request: request, served: served)
            } catch {
                return .done(.failed(error, backend: backend.name))
            }
        }
        let generation = plan.generation

        let streaming = wantsStream && request.kind.canStream
        let run = LocalRun(
            transcript: LocalTranscript(request: request, logprobs: generation.logprobs),
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
        case .finished(let summary, let transcript, let usageIndex, let body):
            served.metrics.record(summary, statistics: served.engine.snapshot)
            let entry = makeEntry(
                request: request, body: body, events: transcript.events, usageEventIndex: usageIndex, backend: backend)
            recordContinuation(plan, request: request, entry: entry, tokens: transcript.tokens, summary: summary)
            return .done(.success(entry, stored: false, backend: backend.name))
        }
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
        case finished(GenerationSummary, transcript: LocalTranscript, usageIndex: Int, body: [UInt8])
    }

    private struct State {
        var transcript: LocalTranscript
        var continuation: CheckedContinuation<Outcome, Never>?
        var ticket: GenerationTicket?
        var cancelled = false
        var timedOut = false
    }

    private let state: NIOLockedValueBox<State>
    private let relay: Flight?
    private let backend: String

    init(transcript: LocalTranscript, relay: Flight?, backend: String) {
        self.state = NIOLockedValueBox(State(transcript: transcript))
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
            let (payloads, opened) = state.withLockedValue { $0.transcript.text(text, tokens: tokens) }
            publish(payloads, opened: opened, usage: false)
        case .finished(let summary):
            let (outcome, payloads, opened) = state.withLockedValue { state -> (Outcome, [[UInt8]], Bool) in
                let written = state.transcript.finish(summary)
                let outcome = Outcome.finished(
                    summary, transcript: state.transcript, usageIndex: written.usageIndex, body: written.body)
                return (outcome, written.payloads, written.opened)
            }
            publish(payloads.dropLast(), opened: opened, usage: false)
            publish(payloads.suffix(1), opened: false, usage: true)
            resume(outcome)
        case .failed(let error):
            let timedOut = state.withLockedValue { $0.timedOut }
            resume(timedOut && error.code == .cancelled ? .timedOut : .failed(error))
        }
    }

    private func publish(_ payloads: some Collection<[UInt8]>, opened: Bool, usage: Bool) {
        guard let relay else { return }
        if opened { relay.publish(.streamStarted(backend: backend)) }
        for payload in payloads { relay.publish(.event(payload, isUsage: usage)) }
    }
}
