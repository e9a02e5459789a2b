import Foundation
import Testing

@testable import LocalModels

/// Continuous batching on the committed F32 reference model: sequences that share steps produce
/// exactly what each produces alone, join and leave at token boundaries, interleave a long
/// prompt's chunks with the others' tokens, and wait for batch places and KV memory in fair order.
@Suite struct ContinuousBatchingTests {
    static let fixture = TransformerEngineTests.fixture

    static func loadModel(context: Int = 256, sequences: Int = 8, prefixCacheBytes: Int? = 0) throws -> LanguageModel {
        var options = LanguageModelOptions()
        options.kvStorage = .f32
        options.threads = 1
        options.contextSize = context
        options.sequences = sequences
        options.prefixCacheBytes = prefixCacheBytes
        return try LanguageModel(path: fixture.path, options: options)
    }

    /// A fixture prompt behind a marker token, so the recorded steps tell requests apart.
    static func prompt(_ marker: Int32, _ index: Int, length: Int? = nil) -> [Int32] {
        let prompts = fixture.prompts.map(\.tokens)
        var tokens = [marker] + prompts[index % prompts.count]
        if let length {
            var more = 0
            while tokens.count < length {
                tokens += prompts[more % prompts.count]
                more += 1
            }
            tokens = Array(tokens.prefix(length))
        }
        return tokens
    }

    static func greedy(_ tokens: [Int32], _ maxTokens: Int, stop: [String] = [], tenant: String = "") -> GenerationRequest {
        GenerationRequest(
            promptTokens: tokens, maxTokens: maxTokens, sampling: SamplingParameters(temperature: 0), stop: stop,
            logprobs: 2, tenant: tenant, ignoreEndOfGeneration: true)
    }

    static func seeded(_ tokens: [Int32], _ maxTokens: Int, seed: UInt64) -> GenerationRequest {
        GenerationRequest(
            promptTokens: tokens, maxTokens: maxTokens,
            sampling: SamplingParameters(temperature: 1.2, topK: 40, topP: 0.95, seed: seed), logprobs: 1,
            ignoreEndOfGeneration: true)
    }

    /// Each request on its own, one after another (batch of one).
    static func alone(_ requests: [GenerationRequest], model: LanguageModel) throws -> [EngineEventCollector.Outcome] {
        let engine = TransformerEngine(
            predictor: model, tokenizer: model.tokenizer, configuration: EngineConfiguration(maxBatch: 1))
        defer { engine.shutdown() }
        return try requests.map { try TransformerEngineTests.run(engine, $0) }
    }

    static func expectSame(_ a: EngineEventCollector.Outcome, _ b: EngineEventCollector.Outcome, _ label: String) {
        #expect(a.error == nil && b.error == nil, "\(label)")
        #expect(a.text == b.text, "\(label): text")
        #expect(a.tokens.map(\.id) == b.tokens.map(\.id), "\(label): tokens")
        #expect(a.tokens.map(\.logProbability.bitPattern) == b.tokens.map(\.logProbability.bitPattern), "\(label): logprobs")
        #expect(a.tokens.map(\.top) == b.tokens.map(\.top), "\(label): top logprobs")
        #expect(a.summary?.finishReason == b.summary?.finishReason, "\(label): finish reason")
        #expect(a.summary?.completionTokens == b.summary?.completionTokens, "\(label): completion tokens")
        #expect(a.summary?.promptTokens == b.summary?.promptTokens, "\(label): prompt tokens")
    }

    /// Steps that evaluated part of `request`'s prompt (its prefill), by index in `steps`.
    static func prefillSteps(_ request: Int32, _ steps: [[RecordingPredictor.Entry]]) -> [Int] {
        steps.indices.filter { i in
            steps[i].contains { $0.request == request && ($0.tokens > 1 || !$0.wantsLogits || $0.position == 0) }
        }
    }

    @Test func concurrentRequestsGiveWhatEachGivesAlone() throws {
        let model = try Self.loadModel()
        let requests = [
            Self.greedy(Self.prompt(101, 0), 20),
            Self.greedy(Self.prompt(102, 1), 14),
            Self.greedy(Self.prompt(103, 2), 24),
            Self.seeded(Self.prompt(104, 0), 18, seed: 7),
            Self.seeded(Self.prompt(105, 1), 22, seed: 8),
            Self.seeded(Self.prompt(106, 2), 16, seed: 9),
        ]
        let reference = try Self.alone(requests, model: model)

        let recorder = RecordingPredictor(model)
        let engine = TransformerEngine(predictor: recorder, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let running = RunningSizes()
        // The first step waits until every request is queued, so all of them overlap.
        let gate = DispatchSemaphore(value: 0)
        recorder.beforeStep = { index, _ in
            running.add(engine.snapshot.running)
            if index == 0 { _ = gate.wait(timeout: .now() + 60) }
        }
        let collectors = requests.map { _ in EngineEventCollector() }
        for (request, collector) in zip(requests, collectors) {
            _ = try engine.submit(request) { collector.handle($0) }
        }
        gate.signal()
        for (i, collector) in collectors.enumerated() {
            let outcome = try #require(collector.wait())
            Self.expectSame(outcome, reference[i], "request \(i)")
        }
        // They really shared steps: every one decoding in one pass at some point.
        let widest = recorder.steps.map { $0.filter { $0.tokens == 1 && $0.wantsLogits }.count }.max() ?? 0
        #expect(widest == requests.count)
        #expect(running.maximum == requests.count)
        #expect(engine.snapshot.running == 0)
        #expect(engine.snapshot.requestsCompleted == requests.count)
    }

    @Test func sequencesJoiningAndLeavingMidStreamDoNotDisturbTheOthers() throws {
        let model = try Self.loadModel()
        let long = Self.greedy(Self.prompt(111, 2), 40)
        let late = Self.seeded(Self.prompt(112, 0), 20, seed: 3)
        let short = Self.greedy(Self.prompt(113, 1), 3)
        let cancelled = Self.greedy(Self.prompt(114, 0), 30)
        let free = Self.greedy(Self.prompt(115, 1), 24)
        var reference = try Self.alone([long, late, short, cancelled, free], model: model)
        // A stop string from the middle of what the last one says freely.
        let text = reference[4].text
        try #require(text.count >= 6)
        let start = text.index(text.startIndex, offsetBy: text.count / 2)
        let stop = String(text[start...].prefix(3))
        var stopped = free
        stopped.stop = [stop]
        reference[4] = try Self.alone([stopped], model: model)[0]
        #expect(reference[4].summary?.finishReason == .stop)
        #expect(reference[4].text == String(text[..<text.range(of: stop)!.lowerBound]))

        let recorder = RecordingPredictor(model)
        let engine = TransformerEngine(predictor: recorder, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let log = EngineEventLog()
        let lateCollector = log.collector("late")
        let lateSubmitted = DispatchSemaphore(value: 0)
        recorder.beforeStep = { index, entries in
            log.append(.step(index, entries))
            if index == 10 {
                _ = try? engine.submit(late) { lateCollector.handle($0) }
                lateSubmitted.signal()
            }
        }
        let tickets = TicketBox()
        let tokensSeen = Counter()
        let collectors = [
            log.collector("long"), lateCollector, log.collector("short"),
            log.collector("cancelled", onText: { if tokensSeen.increment() == 3 { tickets.cancel() } }),
            log.collector("stopped"),
        ]
        _ = try engine.submit(long) { collectors[0].handle($0) }
        _ = try engine.submit(short) { collectors[2].handle($0) }
        tickets.set(try engine.submit(cancelled) { collectors[3].handle($0) })
        _ = try engine.submit(stopped) { collectors[4].handle($0) }
        #expect(lateSubmitted.wait(timeout: .now() + 60) == .success)

        let outcomes = try collectors.map { try #require($0.wait()) }
        for i in [0, 1, 2, 4] { Self.expectSame(outcomes[i], reference[i], ["long", "late", "short", "", "stopped"][i]) }
        #expect(outcomes[3].error?.code == .cancelled)
        let seen = outcomes[3].tokens.map(\.id)
        #expect(!seen.isEmpty && seen.count < 30)
        #expect(seen == Array(reference[3].tokens.map(\.id).prefix(seen.count)), "cancelled: the tokens before it")

        // The late one joined while the long one was decoding, and the long one outlived the leavers.
        let records = log.records
        let lateFirst = try #require(recorder.steps.firstIndex { $0.contains { $0.request == 112 } })
        #expect(lateFirst > 10)
        #expect(recorder.steps[lateFirst].contains { $0.request == 111 && $0.tokens == 1 })
        let longEnd = try #require(records.firstIndex(of: .finished("long")))
        for name in ["short", "stopped"] {
            #expect(try #require(records.firstIndex(of: .finished(name))) < longEnd, "\(name) left first")
        }
        #expect(try #require(records.firstIndex(of: .failed("cancelled", .cancelled))) < longEnd)
    }

    @Test func aLongPromptIsPrefilledBetweenTheRunningStreamsTokens() throws {
        let model = try Self.loadModel()
        let streaming = Self.greedy(Self.prompt(121, 0), 60)
        let longPrompt = Self.greedy(Self.prompt(122, 2, length: 150), 4)
        let reference = try Self.alone([streaming, longPrompt], model: model)

        let recorder = RecordingPredictor(model)
        let engine = TransformerEngine(
            predictor: recorder, tokenizer: model.tokenizer, configuration: EngineConfiguration(prefillChunk: 12))
        defer { engine.shutdown() }
        let log = EngineEventLog()
        let late = log.collector("long prompt")
        recorder.beforeStep = { index, entries in
            log.append(.step(index, entries))
            // The stream has been decoding for a few tokens when the long prompt arrives.
            if index == 4 { _ = try? engine.submit(longPrompt) { late.handle($0) } }
        }
        let stream = log.collector("stream")
        _ = try engine.submit(streaming) { stream.handle($0) }
        let outcomes = [try #require(stream.wait()), try #require(late.wait())]
        Self.expectSame(outcomes[0], reference[0], "stream")
        Self.expectSame(outcomes[1], reference[1], "long prompt")

        let steps = recorder.steps
        let chunks = Self.prefillSteps(122, steps)
        // 150 tokens at 11 per step (12 less the stream's token): 14 chunks, each beside a stream token.
        #expect(chunks.count == 14)
        for i in chunks {
            #expect(steps[i].contains { $0.request == 121 && $0.tokens == 1 && $0.wantsLogits }, "step \(i)")
            #expect(steps[i].reduce(0) { $0 + $1.tokens } <= 12, "step \(i) stays within the chunk")
        }
        // In the event order: the stream's tokens arrive between the chunks, and before the new
        // request's first token; the stream is still going when that token comes.
        let records = log.records
        let markers = chunks.compactMap { chunk in
            records.firstIndex { if case .step(chunk, _) = $0 { true } else { false } }
        }
        #expect(markers.count == chunks.count)
        let streamed = records.indices.filter { if case .tokens("stream", _) = records[$0] { true } else { false } }
        let between = zip(markers, markers.dropFirst()).filter { a, b in streamed.contains { $0 > a && $0 < b } }
        #expect(between.count >= chunks.count - 3, "stream tokens between \(between.count) of \(chunks.count - 1) chunk pairs")
        let firstLate = try #require(records.firstIndex { if case .tokens("long prompt", _) = $0 { true } else { false } })
        #expect(streamed.contains { $0 > markers[0] && $0 < firstLate })
        #expect(try #require(records.firstIndex(of: .finished("stream"))) > firstLate)
    }

    @Test func theBatchIsBoundedAndTenantsTakeTurns() throws {
        let model = try Self.loadModel()
        let recorder = RecordingPredictor(model)
        let engine = TransformerEngine(
            predictor: recorder, tokenizer: model.tokenizer, configuration: EngineConfiguration(maxBatch: 2))
        defer { engine.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let running = RunningSizes()
        recorder.beforeStep = { index, _ in
            running.add(engine.snapshot.running)
            if index == 0 {
                started.signal()
                _ = gate.wait(timeout: .now() + 60)
            }
        }
        // Tenant x sends four requests, tenant y one after them, while x's first one runs.
        let names: [(Int32, String)] = [(131, "x"), (132, "x"), (133, "x"), (134, "x"), (135, "y")]
        var collectors: [EngineEventCollector] = []
        for (marker, tenant) in names {
            let collector = EngineEventCollector()
            collectors.append(collector)
            _ = try engine.submit(Self.greedy(Self.prompt(marker, Int(marker) % 3), 6, tenant: tenant)) {
                collector.handle($0)
            }
            if marker == 131 { #expect(started.wait(timeout: .now() + 60) == .success) }
        }
        gate.signal()
        for collector in collectors { #expect(try #require(collector.wait()).summary?.completionTokens == 6) }
        let steps = recorder.steps
        #expect(steps.allSatisfy { $0.count <= 2 })
        #expect(running.maximum == 2)
        var order: [Int32] = []
        for step in steps { for entry in step where !order.contains(entry.request) { order.append(entry.request) } }
        // x's first request was running before the others were queued; then x and y take turns, so
        // y's one request waits for one of x's, not for all three.
        #expect(order == [131, 132, 135, 133, 134])
    }

    @Test func aRequestWaitsForKVMemoryAndOneThatCannotFitFails() throws {
        // 64 positions of KV memory: four blocks of 16, and no prefix cache.
        let model = try Self.loadModel(context: 64, sequences: 1)
        #expect(model.kvCapacityBytes == model.kvBytes(positions: 64))
        let first = Self.greedy(Self.prompt(141, 0), 16)  // 20 + 16 positions: 3 blocks
        let second = Self.greedy(Self.prompt(142, 1), 10)  // 25 + 10: 3 blocks
        let small = Self.greedy(Array(Self.prompt(143, 0).prefix(8)), 4)  // 12: 1 block, fits beside the first
        let reference = try Self.alone([first, second, small], model: model)

        let recorder = RecordingPredictor(model)
        let engine = TransformerEngine(predictor: recorder, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let log = EngineEventLog()
        let gate = DispatchSemaphore(value: 0)
        recorder.beforeStep = { index, entries in
            log.append(.step(index, entries))
            if index == 0 { _ = gate.wait(timeout: .now() + 60) }
        }
        let collectors = ["first", "second", "small"].map { log.collector($0) }
        for (request, collector) in zip([first, second, small], collectors) {
            _ = try engine.submit(request) { collector.handle($0) }
        }
        gate.signal()
        let outcomes = try collectors.map { try #require($0.wait()) }
        for i in 0..<3 { Self.expectSame(outcomes[i], reference[i], "request \(i)") }
        let steps = recorder.steps
        // The second waited for the first to finish; the small one behind it waited its turn too
        // (the queue stays in order), then ran beside the second.
        #expect(!steps.contains { step in step.contains { $0.request == 141 } && step.contains { $0.request == 142 } })
        #expect(steps.contains { step in step.contains { $0.request == 142 } && step.contains { $0.request == 143 } })
        let records = log.records
        let firstDone = try #require(records.firstIndex(of: .finished("first")))
        let secondStart = try #require(records.firstIndex {
            if case .step(_, let entries) = $0 { entries.contains { $0.request == 142 } } else { false }
        })
        #expect(secondStart > firstDone)

        // A request whose prompt and max_tokens need more memory than the engine may use fails at
        // once, and the engine goes on.
        let narrow = RecordingPredictor(model, kvCapacityBytes: model.kvBytes(positions: 32))
        let narrowEngine = TransformerEngine(predictor: narrow, tokenizer: model.tokenizer)
        defer { narrowEngine.shutdown() }
        let tooBig = try TransformerEngineTests.run(narrowEngine, first)
        #expect(tooBig.error?.code == .contextExceeded)
        #expect(tooBig.tokens.isEmpty)
        Self.expectSame(try TransformerEngineTests.run(narrowEngine, small), reference[2], "after the refusal")
    }

    @Test func aBadRequestFailsAloneAndTheBatchGoesOn() throws {
        let model = try Self.loadModel()
        let good = Self.greedy(Self.prompt(151, 2), 16)
        let reference = try Self.alone([good], model: model)[0]
        let recorder = RecordingPredictor(model)
        let engine = TransformerEngine(predictor: recorder, tokenizer: model.tokenizer)
        defer { engine.shutdown() }
        let badCollector = EngineEventCollector()
        let badToken = Int32(model.vocabularySize + 5)
        recorder.beforeStep = { index, _ in
            if index == 3 {
                _ = try? engine.submit(Self.greedy([152, badToken, 3], 4)) { badCollector.handle($0) }
            }
        }
        let collector = EngineEventCollector()
        _ = try engine.submit(good) { collector.handle($0) }
        Self.expectSame(try #require(collector.wait()), reference, "good")
        let bad = try #require(badCollector.wait())
        #expect(bad.error?.code == .evaluation)
        #expect(bad.error?.message.contains("\(badToken)") == true)
        #expect(engine.snapshot.requestsFailed == 1)
    }
}

/// The largest `running` figure seen.
final class RunningSizes: @unchecked Sendable {
    private let lock = NSLock()
    private var largest = 0
    func add(_ value: Int) { lock.withLock { largest = max(largest, value) } }
    var maximum: Int { lock.withLock { largest } }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
}
