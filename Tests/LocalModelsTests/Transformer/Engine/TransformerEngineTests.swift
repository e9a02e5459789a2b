import Foundation
import Testing

@testable import LocalModels

/// The engine end to end on a committed reference model: llama.cpp's greedy continuation,
/// stops, seeds, limits, log-probabilities, cancellation and the bounded queue.
@Suite struct TransformerEngineTests {
    static let fixture = ModelFixtures.model("llama-mha-f32.gguf")

    static func loadModel(context: Int = 0) throws -> LanguageModel {
        var options = LanguageModelOptions()
        options.kvStorage = .f32
        options.threads = 1
        options.contextSize = context
        return try LanguageModel(path: fixture.path, options: options)
    }

    static func run<Predictor>(
        _ engine: TransformerEngine<Predictor>, _ request: GenerationRequest
    ) throws -> EngineEventCollector.Outcome {
        let collector = EngineEventCollector()
        _ = try engine.submit(request) { collector.handle($0) }
        return try #require(collector.wait())
    }

    static func greedy(_ tokens: [Int32], maxTokens: Int, stop: [String] = [], logprobs: Int? = nil) -> GenerationRequest {
        GenerationRequest(
            promptTokens: tokens, maxTokens: maxTokens, sampling: SamplingParameters(temperature: 0), stop: stop,
            logprobs: logprobs, ignoreEndOfGeneration: true)
    }

    @Test func greedyContinuationMatchesLlamaCpp() throws {
        let model = try Self.loadModel()
        let engine = TransformerEngine(predictor: model, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let prompt = try #require(Self.fixture.greedyPrompt)
        let reference = try #require(prompt.greedyTokens)
        let margins = try #require(prompt.greedyMargins)
        let outcome = try Self.run(engine, Self.greedy(prompt.tokens, maxTokens: reference.count))
        #expect(outcome.error == nil)
        let ids = outcome.tokens.map(\.id)
        #expect(ids.count == reference.count)
        let comparable = margins.firstIndex { $0 < 0.05 } ?? reference.count
        #expect(comparable >= 8, "the fixture should give several comparable steps")
        #expect(Array(ids.prefix(comparable)) == Array(reference.prefix(comparable)))
        // Streamed text is exactly the detokenised tokens, never a split character.
        #expect(outcome.text == model.tokenizer.decode(ids))
        let summary = try #require(outcome.summary)
        #expect(summary.finishReason == .length)
        #expect(summary.promptTokens == prompt.tokens.count && summary.completionTokens == reference.count)
    }

    @Test func logProbabilitiesAreTheModelsDistribution() throws {
        let model = try Self.loadModel()
        let engine = TransformerEngine(predictor: model, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let prompt = Self.fixture.prompts[0]
        let outcome = try Self.run(engine, Self.greedy(prompt.tokens, maxTokens: 1, logprobs: 3))
        let token = try #require(outcome.tokens.first)
        let logits = try prompt.referenceLogits()
        let vocabulary = prompt.logitsShape[1]
        let reference = SamplingTestSupport.logSoftmax(Array(logits[(logits.count - vocabulary)...]))
        #expect(abs(Double(token.logProbability) - reference[Int(token.id)]) < 1e-3)
        #expect(token.top.count == 3)
        #expect(token.top.first?.id == token.id, "greedy picks the most likely token")
        #expect(token.top.map(\.logProbability) == token.top.map(\.logProbability).sorted(by: >))
    }

    @Test func stopStringEndsTheCompletionBeforeIt() throws {
        let model = try Self.loadModel()
        let engine = TransformerEngine(predictor: model, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let prompt = Self.fixture.prompts[0].tokens
        let free = try Self.run(engine, Self.greedy(prompt, maxTokens: 24))
        let text = free.text
        #expect(text.count >= 6)
        // A stop string taken from the middle of what greedy decoding produces.
        let start = text.index(text.startIndex, offsetBy: text.count / 2)
        let stop = String(text[start...].prefix(3))
        let expected = String(text[..<text.range(of: stop)!.lowerBound])
        let stopped = try Self.run(engine, Self.greedy(prompt, maxTokens: 24, stop: [stop]))
        #expect(stopped.text == expected)
        #expect(stopped.summary?.finishReason == .stop)
        #expect((stopped.summary?.completionTokens ?? 99) < 24)
    }

    @Test func sameSeedSameTextOtherSeedOtherText() throws {
        let model = try Self.loadModel()
        let engine = TransformerEngine(predictor: model, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        func sampled(_ seed: UInt64) throws -> [Int32] {
            let request = GenerationRequest(
                promptTokens: Self.fixture.prompts[1].tokens, maxTokens: 16,
                sampling: SamplingParameters(temperature: 1.5, seed: seed), ignoreEndOfGeneration: true)
            return try Self.run(engine, request).tokens.map(\.id)
        }
        let a = try sampled(7)
        #expect(a.count == 16)
        #expect(try sampled(7) == a)
        #expect(try sampled(8) != a)
    }

    @Test func contextLimitsThePromptAndTheCompletion() throws {
        let model = try Self.loadModel(context: 24)
        #expect(model.contextLength == 24)
        let engine = TransformerEngine(predictor: model, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let long = try #require(Self.fixture.greedyPrompt).tokens
        #expect(long.count >= 24)
        let refused = try Self.run(engine, Self.greedy(long, maxTokens: 4))
        #expect(refused.error?.code == .contextExceeded)
        // A prompt that fits stops at the context with finish reason `length`.
        let short = Array(long.prefix(20))
        let cut = try Self.run(engine, Self.greedy(short, maxTokens: 100))
        #expect(cut.summary?.finishReason == .length)
        #expect(cut.summary?.completionTokens == 4)
    }

    @Test func cancellingStopsTheRunningRequestAndTheNextOneRuns() throws {
        let model = try Self.loadModel()
        let engine = TransformerEngine(predictor: model, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let ticketBox = TicketBox()
        let collector = EngineEventCollector(onText: { ticketBox.cancel() })
        let long = GenerationRequest(
            promptTokens: Self.fixture.prompts[0].tokens, maxTokens: 200, sampling: SamplingParameters(temperature: 0),
            ignoreEndOfGeneration: true)
        ticketBox.set(try engine.submit(long) { collector.handle($0) })
        let outcome = try #require(collector.wait())
        #expect(outcome.error?.code == .cancelled)
        #expect(outcome.tokens.count < 200)
        let next = try Self.run(engine, Self.greedy(Self.fixture.prompts[0].tokens, maxTokens: 2))
        #expect(next.summary?.completionTokens == 2)
    }

    @Test func aFullQueueRefusesWithoutCallingBack() throws {
        let model = try Self.loadModel()
        let engine = TransformerEngine(
            predictor: model, tokenizer: model.tokenizer, configuration: EngineConfiguration(maxQueued: 1, maxBatch: 1))
        defer { engine.shutdown() }
        let started = DispatchSemaphore(value: 0)
        let first = EngineEventCollector(onText: { started.signal() })
        let long = GenerationRequest(
            promptTokens: Self.fixture.prompts[0].tokens, maxTokens: 200, sampling: SamplingParameters(temperature: 0),
            ignoreEndOfGeneration: true)
        let running = try engine.submit(long) { first.handle($0) }
        #expect(started.wait(timeout: .now() + 30) == .success)  // now running, the queue is empty
        let second = EngineEventCollector()
        let queued = try engine.submit(long) { second.handle($0) }
        #expect {
            _ = try engine.submit(long) { _ in Issue.record("a refused request must not call back") }
        } throws: { ($0 as? EngineError)?.code == .queueFull }
        #expect(engine.snapshot.requestsRejected == 1)
        running.cancel()
        queued.cancel()
        #expect(first.wait()?.error?.code == .cancelled)
        #expect(second.wait()?.error?.code == .cancelled)
    }
}

/// Holds a ticket for a callback that may run before `submit` returns it.
final class TicketBox: @unchecked Sendable {
    private let lock = NSLock()
    private var ticket: GenerationTicket?
    private var cancelled = false

    func set(_ ticket: GenerationTicket) {
        let cancelNow = lock.withLock {
            self.ticket = ticket
            return cancelled
        }
        if cancelNow { ticket.cancel() }
    }

    func cancel() {
        let ticket = lock.withLock {
            cancelled = true
            return self.ticket
        }
        ticket?.cancel()
    }
}

/// Prefix KV reuse on the committed reference model: a repeated or extended prompt computes only
/// what it adds, and produces exactly what a cold run does.
@Suite struct PrefixReuseEngineTests {
    @Test func aRepeatedPromptReusesItsBlocksAndAnswersTheSame() throws {
        let model = try TransformerEngineTests.loadModel()
        let engine = TransformerEngine(predictor: model, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let prompt = try #require(TransformerEngineTests.fixture.greedyPrompt).tokens
        try #require(prompt.count > 16, "the fixture prompt should span a whole KV block")
        var request = TransformerEngineTests.greedy(prompt, maxTokens: 12, logprobs: 0)
        let cold = try TransformerEngineTests.run(engine, request)
        request.prefixScope = "tenant-a"
        let first = try TransformerEngineTests.run(engine, request)
        let second = try TransformerEngineTests.run(engine, request)
        #expect(first.summary?.cachedPromptTokens == 0)
        let cached = try #require(second.summary?.cachedPromptTokens)
        #expect(cached > 0 && cached % 16 == 0 && cached < prompt.count)
        // Reused state gives the very same tokens and log-probabilities as computing it all.
        #expect(second.tokens.map(\.id) == cold.tokens.map(\.id))
        #expect(second.tokens.map(\.logProbability) == cold.tokens.map(\.logProbability))

        // A continuation of the conversation reuses the prompt and what was generated.
        let longer = prompt + first.tokens.map(\.id) + prompt.prefix(4)
        var next = TransformerEngineTests.greedy(longer, maxTokens: 4)
        next.prefixScope = "tenant-a"
        let grown = try TransformerEngineTests.run(engine, next)
        #expect((grown.summary?.cachedPromptTokens ?? 0) > cached)
        // Another tenant starts cold.
        next.prefixScope = "tenant-b"
        #expect(try TransformerEngineTests.run(engine, next).summary?.cachedPromptTokens == 0)
        #expect((model.prefixCache?.statistics.blocks ?? 0) > 0)
    }
}
