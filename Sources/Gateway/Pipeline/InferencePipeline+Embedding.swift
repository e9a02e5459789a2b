import Cache
import LocalModels
import NIOHTTP1
import Router

extension InferencePipeline {
    /// One attempt on a local GGUF encoder: the texts embedded in one engine request (batched
    /// with whatever else is waiting), answered in OpenAI's shape and cached like an upstream's.
    func attemptLocalEmbedding(_ backend: BackendPolicy, request: InferenceRequest, timeoutSeconds: Double) async -> AttemptOutcome {
        let catalog = policies.languageModels
        guard let served = catalog.encoders[backend.name] else {
            let reason = catalog.unavailableReason(backend.name, wanted: "an embedding model")
            return .failed(.status(503), .failed(.unavailable(reason, code: "model_unavailable"), backend: backend.name))
        }
        let parsed: LocalEmbeddingRequest
        do {
            parsed = try LocalEmbeddingRequest(body: request.body, dimensions: served.dimensions)
        } catch {
            return .done(.failed(error, backend: backend.name))
        }
        let result: EmbeddingResult
        switch await Self.embed(parsed.inputs, on: served, timeoutSeconds: timeoutSeconds) {
        case .success(let embedded):
            result = embedded
        case .failure(let failure):
            return failure.outcome(backend: backend.name)
        }
        served.metrics.record(result, statistics: served.engine.snapshot)
        let body = parsed.responseBody(result, model: request.match.requestedModel)
        let entry = makeEntry(
            request: request, body: body, events: nil, usageEventIndex: nil, backend: backend,
            usage: .known(TokenUsage(promptTokens: result.promptTokens, completionTokens: 0)))
        return .done(.success(entry, stored: false, backend: backend.name))
    }

    /// Why a local embedding did not come back.
    enum EmbeddingFailure: Error {
        case engine(EngineError)
        case timedOut(Double)

        func outcome(backend: String) -> AttemptOutcome {
            switch self {
            case .timedOut(let seconds):
                return .done(.failed(.gatewayTimeout("The local encoder '\(backend)' did not finish within \(Int(seconds)) s."), backend: backend))
            case .engine(let error):
                switch error.code {
                case .queueFull, .stopped:
                    var busy = GatewayError.unavailable(error.message, code: error.code.rawValue)
                    busy.headers.append(("retry-after", "1"))
                    return .failed(.status(503), .failed(busy, backend: backend))
                case .contextExceeded:
                    return .done(.failed(GatewayError(status: .badRequest, message: error.message, code: "context_length_exceeded", param: "input"), backend: backend))
                case .cancelled:
                    return .done(.failed(.unavailable("The request was cancelled.", code: "cancelled"), backend: backend))
                default:
                    return .done(.failed(GatewayError(status: .internalServerError, message: error.message, code: error.code.rawValue), backend: backend))
                }
            }
        }
    }

    /// The texts' vectors from `served`, or why not, within `timeoutSeconds` (the request is
    /// withdrawn from the engine's queue when the time runs out or the client goes away).
    static func embed(_ texts: [String], on served: ServedEncoder, timeoutSeconds: Double) async -> Result<EmbeddingResult, EmbeddingFailure> {
        let engine = served.engine
        return await withTaskGroup(of: Result<EmbeddingResult, EmbeddingFailure>?.self) { group in
            group.addTask {
                do throws(EngineError) {
                    return .success(try await engine.embed(texts))
                } catch {
                    return .failure(.engine(error))
                }
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(max(0.001, timeoutSeconds) * 1e9))
                return Task.isCancelled ? nil : .failure(.timedOut(timeoutSeconds))
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .failure(.engine(EngineError(.cancelled, "The request was cancelled.")))
        }
    }
}
