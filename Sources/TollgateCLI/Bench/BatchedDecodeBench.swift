import ArgumentParser
import Foundation
import LocalModels
import TollgateJSON

extension BenchCommand {
    /// `tollgate bench batch`: aggregate decode tokens/s of the engine with 1, 4, 8... concurrent
    /// sequences (continuous batching), as scripts/bench/batched_decode.py compares with llama.cpp.
    struct Batch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "batch",
            abstract: "Aggregate decode tokens/s of the engine with several concurrent sequences.",
            discussion: """
                For each concurrency N, N greedy requests (each a different --prompt-tokens random ordinary \
                token ids, --decode-tokens tokens, end-of-generation ignored) are submitted to one engine at \
                once. The figure is N tokens per step over the steps in which all N decode and no prompt is \
                evaluated, timed from step start to step start: the engine's steady-state decode rate at \
                batch N, sampling and detokenising included.
                """
        )

        @Option(name: .long, help: "GGUF model file.") var model: String
        @Option(name: .long, help: "Threads, the caller included.") var threads = 2
        @Option(name: .long, help: "Prompt tokens per sequence.") var promptTokens = 32
        @Option(name: .long, help: "Tokens each sequence generates.") var decodeTokens = 64
        @Option(name: .long, help: "Comma-separated concurrencies.") var concurrency = "1,4,8"
        @Option(name: .long, help: "Rounds (the best is reported).") var repeats = 1
        @Option(name: .long, help: "Write the figures as JSON to this file.") var json: String?

        func run() throws {
            let counts = concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty, counts.allSatisfy({ $0 >= 1 && $0 <= 256 }) else {
                throw ValidationError("--concurrency takes numbers from 1 to 256, e.g. 1,4,8")
            }
            let widest = counts.max()!
            var options = LanguageModelOptions()
            options.threads = threads
            options.contextSize = promptTokens + decodeTokens + 16
            options.sequences = widest
            options.prefixCacheBytes = 0
            let loaded = try LanguageModel(path: model, options: options)
            let engine = TransformerEngine(
                predictor: StepTimingPredictor(loaded), tokenizer: loaded.tokenizer,
                configuration: EngineConfiguration(maxQueued: widest, maxBatch: widest))
            defer { engine.shutdown() }
            var generator = BenchTokenGenerator(seed: 42)
            let vocabulary = loaded.vocabularySize
            let low = min(300, vocabulary / 2)
            let high = max(low + 1, min(1400, vocabulary))
            func prompt() -> [Int32] {
                (0..<promptTokens).map { _ in Int32(low + Int(generator.next() % UInt64(high - low))) }
            }
            // Warm-up: pages the mapped weights in and sizes the scratch buffers for the widest batch.
            _ = try Self.measure(engine, prompts: (0..<widest).map { _ in prompt() }, decodeTokens: 8)

            var best: [Int: Double] = [:]
            for _ in 0..<max(1, repeats) {
                for n in counts {
                    let rate = try Self.measure(engine, prompts: (0..<n).map { _ in prompt() }, decodeTokens: decodeTokens)
                    best[n] = max(best[n] ?? 0, rate)
                }
            }
            print("\(model)\n  threads \(threads), \(promptTokens)-token prompts, \(decodeTokens) tokens each")
            for n in counts {
                let ratio = (best[1] ?? 0) > 0 ? String(format: " (%.2fx one sequence)", best[n]! / best[1]!) : ""
                print(String(format: "  %3d sequences  %8.2f tokens/s", n, best[n]!) + ratio)
            }
            if let json {
                let figures: [JSONValue] = counts.map { n in
                    ["sequences": .number(String(n)), "decode_tokens_per_s": .number(String(best[n]!))]
                }
                let object: JSONValue = [
                    "model": .string(model), "threads": .number(String(threads)),
                    "prompt_tokens": .number(String(promptTokens)), "decode_tokens": .number(String(decodeTokens)),
                    "results": .array(figures),
                ]
                try String(decoding: JSONWriter.bytes(object), as: UTF8.self).write(toFile: json, atomically: true, encoding: .utf8)
            }
        }

        /// Submits one request per prompt at once and returns the aggregate decode tokens/s over the
        /// steps in which all of them decode (and no prompt is evaluated).
        static func measure(_ engine: TransformerEngine<StepTimingPredictor>, prompts: [[Int32]], decodeTokens: Int) throws
            -> Double
        {
            let timing = engine.predictor
            timing.reset()
            let done = DispatchSemaphore(value: 0)
            let failure = FailureBox()
            for prompt in prompts {
                let request = GenerationRequest(
                    promptTokens: prompt, maxTokens: decodeTokens, sampling: SamplingParameters(temperature: 0),
                    ignoreEndOfGeneration: true)
                _ = try engine.submit(request) { event in
                    switch event {
                    case .text: return
                    case .finished: break
                    case .failed(let error): failure.set(error)
                    }
                    done.signal()
                }
            }
            let started = MonotonicTime.now()
            for _ in prompts { done.wait() }
            if let error = failure.error { throw error }
            if ProcessInfo.processInfo.environment["TOLLGATE_BENCH_STEPS"] != nil {
                let (count, forward) = timing.stepFigures
                let total = MonotonicTime.now() - started
                FileHandle.standardError.write(Data(
                    ("  \(prompts.count) sequences: \(count) steps, \(String(format: "%.1f", 1000 * total / Double(count))) ms "
                        + "per step, \(String(format: "%.0f", 100 * forward / total))% in the forward pass\n").utf8))
            }
            return timing.decodeRate(sequences: prompts.count)
        }
    }
}

/// The engine's model, with the start time and make-up of every batched step recorded.
final class StepTimingPredictor: TokenPredictor, @unchecked Sendable {
    typealias State = KVSequence

    let model: LanguageModel
    private let lock = NSLock()
    private var steps: [(start: Double, decodeRows: Int, promptRows: Int)] = []
    /// Seconds inside the model's forward pass, over all steps.
    private(set) var forwardSeconds = 0.0

    init(_ model: LanguageModel) { self.model = model }

    func reset() {
        lock.withLock {
            steps.removeAll()
            forwardSeconds = 0
        }
    }

    /// Mean seconds per decode-only step of `sequences` rows, and the share of it in the forward pass.
    var stepFigures: (steps: Int, seconds: Double) { lock.withLock { (steps.count, forwardSeconds) } }

    /// Tokens per second over the longest run of steps that decode `sequences` rows and nothing
    /// else: from the first such step's start to the start of the step after the last one (so
    /// sampling and the engine's own work between steps are counted).
    func decodeRate(sequences: Int) -> Double {
        lock.withLock {
            var best = 0.0
            var bestSteps = 0
            var i = 0
            while i < steps.count {
                guard steps[i].decodeRows == sequences && steps[i].promptRows == 0 else {
                    i += 1
                    continue
                }
                var j = i
                while j + 1 < steps.count && steps[j + 1].decodeRows == sequences && steps[j + 1].promptRows == 0 { j += 1 }
                // Steps i..<j are whole (step j ends where no later start is recorded).
                if j > i && j - i > bestSteps {
                    bestSteps = j - i
                    best = Double(sequences * (j - i)) / (steps[j].start - steps[i].start)
                }
                i = j + 1
            }
            return best
        }
    }

    var vocabularySize: Int { model.vocabularySize }
    var contextLength: Int { model.contextLength }
    var kvBytesInUse: Int { model.kvBytesInUse }
    var kvCapacityBytes: Int { model.kvCapacityBytes }
    func kvBytes(positions: Int) -> Int { model.kvBytes(positions: positions) }
    func makeState() throws -> KVSequence { try model.makeState() }
    func release(_ state: inout KVSequence) { model.release(&state) }

    func evaluate(_ tokens: [Int32], state: inout KVSequence, logits: UnsafeMutableBufferPointer<Float>?) throws {
        try model.evaluate(tokens, state: &state, logits: logits)
    }

    func evaluate(batch: inout [PredictorStep<KVSequence>]) throws {
        let decodeRows = batch.filter { $0.tokens.count == 1 && $0.logits != nil && $0.state.count > 0 }.count
        let promptRows = batch.reduce(0) { $0 + $1.tokens.count } - decodeRows
        let now = MonotonicTime.now()
        lock.withLock { steps.append((now, decodeRows, promptRows)) }
        try model.evaluate(batch: &batch)
        let elapsed = MonotonicTime.now() - now
        lock.withLock { forwardSeconds += elapsed }
    }
}

final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: EngineError?
    func set(_ error: EngineError) { lock.withLock { stored = error } }
    var error: EngineError? { lock.withLock { stored } }
}
