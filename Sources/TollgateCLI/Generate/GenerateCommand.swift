import ArgumentParser
import Foundation
import LocalModels
import TollgateJSON

/// `tollgate generate`: try a GGUF model without a server, on the same engine the gateway runs.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a GGUF model and stream it to standard output.",
        discussion: """
            The prompt is sent as one user message through the model's chat template unless --raw is given. \
            Sampling defaults follow llama.cpp (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05); \
            --temperature 0 is greedy. --json prints the token ids and log-probabilities instead of streaming.
            """
    )

    @Option(name: .long, help: "GGUF model file.") var model: String
    @Option(name: .long, help: "The prompt.") var prompt: String
    @Option(name: .long, help: "Tokens to generate at most.") var maxTokens = 128
    @Option(name: .long, help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0.8
    @Option(name: .long, help: "Top-k (0 = off).") var topK = 40
    @Option(name: .long, help: "Top-p (1 = off).") var topP: Float = 0.95
    @Option(name: .long, help: "Min-p (0 = off).") var minP: Float = 0.05
    @Option(name: .long, help: "Repetition penalty (1 = off).") var repeatPenalty: Float = 1
    @Option(name: .long, help: "Random seed: the same seed gives the same text.") var seed: UInt64?
    @Option(name: .long, help: "Stop at this text (repeatable).") var stop: [String] = []
    @Option(name: .long, help: "Threads (0 = one per core).") var threads = 0
    @Option(name: .long, help: "Context size (0 = the model's, at most 8192).") var context = 0
    @Option(name: .long, help: "Chat template family overriding the model's.") var chatTemplate: String?
    @Option(name: .long, help: "KV cache storage: f16 (half the memory) or f32 (exact).") var kvCacheType = "f16"
    @Flag(name: .long, help: "Tokenize the prompt as is, without the chat template.") var raw = false
    @Flag(name: .long, help: "Print token ids and log-probabilities as JSON.") var json = false
    @Option(name: .long, help: "With --json: alternatives per token.") var topLogprobs = 0

    func run() throws {
        var options = LanguageModelOptions()
        options.threads = threads
        options.contextSize = context
        options.chatTemplate = chatTemplate
        switch kvCacheType {
        case "f16": options.kvStorage = .f16
        case "f32": options.kvStorage = .f32
        default: throw ValidationError("--kv-cache-type must be f16 or f32")
        }
        let loaded: LanguageModel
        do {
            loaded = try LanguageModel(path: model, options: options)
        } catch {
            throw ValidationError("\(error)")
        }
        let tokens = raw
            ? loaded.tokenizer.encode(prompt, addSpecial: true, parseSpecial: false)
            : loaded.chatPrompt([ChatMessage(role: "user", content: prompt)])
        var sampling = SamplingParameters()
        sampling.temperature = temperature
        sampling.topK = topK
        sampling.topP = topP
        sampling.minP = minP
        sampling.repetitionPenalty = repeatPenalty
        sampling.seed = seed
        let request = GenerationRequest(
            promptTokens: tokens,
            maxTokens: maxTokens,
            sampling: sampling,
            stop: stop + (raw ? [] : loaded.template.stopStrings),
            logprobs: json ? topLogprobs : nil
        )
        let engine = TransformerEngine(predictor: loaded, tokenizer: loaded.tokenizer)
        defer { engine.shutdown() }
        let collector = GenerateOutput(streaming: !json)
        do {
            _ = try engine.submit(request) { event in collector.handle(event) }
        } catch {
            throw ValidationError(error.message)
        }
        let result = collector.wait()
        switch result {
        case .failure(let error):
            throw ValidationError(error.message)
        case .success(let summary):
            if json {
                print(collector.json(promptTokens: tokens, summary: summary))
            } else {
                print()
                let rate = summary.decodeSeconds > 0 ? Double(max(0, summary.completionTokens - 1)) / summary.decodeSeconds : 0
                let prefillRate = summary.prefillSeconds > 0 ? Double(summary.promptTokens) / summary.prefillSeconds : 0
                FileHandle.standardError.write(
                    Data(
                        String(
                            format: "[%d prompt tokens at %.1f tok/s, %d generated at %.1f tok/s, finish: %@]\n",
                            summary.promptTokens, prefillRate, summary.completionTokens, rate,
                            summary.finishReason.rawValue
                        ).utf8))
            }
        }
    }
}

/// Collects one generation's events on the engine thread and hands them to the command.
final class GenerateOutput: @unchecked Sendable {
    private let streaming: Bool
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var tokens: [GeneratedToken] = []
    private var text = ""
    private var result: Result<GenerationSummary, EngineError>?

    init(streaming: Bool) {
        self.streaming = streaming
    }

    func handle(_ event: GenerationEvent) {
        switch event {
        case .text(let chunk, let generated):
            lock.withLock {
                tokens += generated
                text += chunk
            }
            if streaming {
                FileHandle.standardOutput.write(Data(chunk.utf8))
            }
        case .finished(let summary):
            lock.withLock { result = .success(summary) }
            done.signal()
        case .failed(let error):
            lock.withLock { result = .failure(error) }
            done.signal()
        }
    }

    func wait() -> Result<GenerationSummary, EngineError> {
        done.wait()
        return lock.withLock { result! }
    }

    func json(promptTokens: [Int32], summary: GenerationSummary) -> String {
        lock.withLock {
            let object: JSONValue = [
                "prompt_tokens": .array(promptTokens.map { .number(String($0)) }),
                "tokens": .array(tokens.map { .number(String($0.id)) }),
                "logprobs": .array(tokens.map { .number(String(Double($0.logProbability))) }),
                "top_logprobs": .array(
                    tokens.map { token in
                        .array(token.top.map { ["id": .number(String($0.id)), "logprob": .number(String(Double($0.logProbability)))] })
                    }),
                "text": .string(text),
                "finish_reason": .string(summary.finishReason.rawValue),
            ]
            return String(decoding: JSONWriter.bytes(object), as: UTF8.self)
        }
    }
}
