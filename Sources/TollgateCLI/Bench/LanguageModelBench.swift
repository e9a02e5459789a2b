import ArgumentParser
import Foundation
import LocalModels
import TollgateJSON

extension BenchCommand {
    /// `tollgate bench llm`: prefill and decode tokens/s of a GGUF model on the engine, and the
    /// memory-bandwidth bound for decode (model bytes read once per token) measured in the same run.
    struct LLM: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "llm",
            abstract: "Prompt (prefill) and decode tokens/s of a GGUF model, next to the memory-bandwidth bound.",
            discussion: """
                The prompt is --prompt-tokens random ordinary token ids evaluated in one call (logits for the last \
                only); decode then evaluates --decode-tokens tokens one at a time, each the argmax of the last \
                logits, as scripts/transformer_fixtures.py --bench-llama does with llama.cpp. The bound is the read \
                bandwidth of a buffer larger than the caches, on the same threads, divided by the model's bytes.
                """
        )

        @Option(name: .long, help: "GGUF model file.") var model: String
        @Option(name: .long, help: "Threads, the caller included.") var threads = 2
        @Option(name: .long, help: "Prompt tokens.") var promptTokens = 128
        @Option(name: .long, help: "Tokens decoded one at a time.") var decodeTokens = 64
        @Option(name: .long, help: "Rounds (the best is reported).") var repeats = 3
        @Option(name: .long, help: "Write the figures as JSON to this file.") var json: String?

        func run() throws {
            var options = LanguageModelOptions()
            options.threads = threads
            options.contextSize = promptTokens + decodeTokens + 16
            options.chunkSize = max(256, promptTokens)
            let loaded = try LanguageModel(path: model, options: options)
            let vocabulary = loaded.vocabularySize
            var generator = BenchTokenGenerator(seed: 42)
            let low = min(300, vocabulary / 2)
            let high = max(low + 1, min(1400, vocabulary))
            let prompt = (0..<promptTokens).map { _ in Int32(low + Int(generator.next() % UInt64(high - low))) }

            // Warm-up: pages the mapped weights in and sizes the scratch buffers.
            let warm = try loaded.makeState()
            _ = try loaded.model.evaluate(tokens: Array(prompt.prefix(16)), sequence: warm)
            _ = try loaded.model.evaluate(tokens: [prompt[0]], sequence: warm)
            warm.truncate(to: 0)

            var bestPrefill = 0.0
            var bestDecode = 0.0
            for _ in 0..<max(1, repeats) {
                let sequence = try loaded.makeState()
                let start = MonotonicTime.now()
                var logits = try loaded.model.evaluate(tokens: prompt, sequence: sequence, logits: .last)
                let prefilled = MonotonicTime.now()
                for _ in 0..<decodeTokens {
                    let next = Int32(logits.indices.max { logits[$0] < logits[$1] } ?? 0)
                    logits = try loaded.model.evaluate(tokens: [next], sequence: sequence, logits: .last)
                }
                let decoded = MonotonicTime.now()
                bestPrefill = max(bestPrefill, Double(promptTokens) / (prefilled - start))
                bestDecode = max(bestDecode, Double(decodeTokens) / (decoded - prefilled))
                sequence.truncate(to: 0)
            }
            let modelBytes = loaded.file.tensors.reduce(0) { $0 + $1.byteCount }
            let bandwidth = MemoryBandwidth.measure(threads: threads, pool: loaded.pool)
            let bound = bandwidth / Double(modelBytes)
            let table = """
                \(model)
                  threads \(threads), \(promptTokens)-token prompt, \(decodeTokens) decoded tokens, best of \(repeats)
                  prefill      \(String(format: "%8.2f", bestPrefill)) tokens/s
                  decode       \(String(format: "%8.2f", bestDecode)) tokens/s
                  model bytes  \(modelBytes) (\(String(format: "%.1f", Double(modelBytes) / 1_048_576)) MiB)
                  bandwidth    \(String(format: "%8.2f", bandwidth / 1e9)) GB/s read, \(threads) threads
                  bound        \(String(format: "%8.2f", bound)) tokens/s (decode at \(String(format: "%.0f", 100 * bestDecode / bound))% of it)
                """
            print(table)
            if let json {
                let object: JSONValue = [
                    "model": .string(model), "threads": .number(String(threads)),
                    "prompt_tokens": .number(String(promptTokens)), "decode_tokens": .number(String(decodeTokens)),
                    "prefill_tokens_per_s": .number(String(bestPrefill)), "decode_tokens_per_s": .number(String(bestDecode)),
                    "model_bytes": .number(String(modelBytes)), "bandwidth_bytes_per_s": .number(String(bandwidth)),
                    "bound_tokens_per_s": .number(String(bound)),
                ]
                try String(decoding: JSONWriter.bytes(object), as: UTF8.self).write(toFile: json, atomically: true, encoding: .utf8)
            }
        }
    }
}

/// A deterministic generator for benchmark inputs.
struct BenchTokenGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Read bandwidth of memory: summing a buffer far larger than the caches, split over threads.
enum MemoryBandwidth {
    static func measure(threads: Int, pool: EngineThreadPool?, bytes: Int = 1 << 30) -> Double {
        let count = bytes / MemoryLayout<SIMD16<Float>>.stride
        let buffer = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: SIMD16<Float>(repeating: 1), count: count)
        let parts = max(1, threads) * 8
        var best = 0.0
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: parts)
        defer { sums.deallocate() }
        for _ in 0..<3 {
            let start = MonotonicTime.now()
            let work: (Int) -> Void = { part in
                let from = count * part / parts
                let to = count * (part + 1) / parts
                var a = SIMD16<Float>(), b = SIMD16<Float>(), c = SIMD16<Float>(), d = SIMD16<Float>()
                var i = from
                while i + 4 <= to {
                    a += buffer[i]; b += buffer[i + 1]; c += buffer[i + 2]; d += buffer[i + 3]
                    i += 4
                }
                while i < to { a += buffer[i]; i += 1 }
                sums[part] = (a + b + c + d).sum()
            }
            if let pool { pool.parallelFor(count: parts, work) } else { for part in 0..<parts { work(part) } }
            best = max(best, Double(count * MemoryLayout<SIMD16<Float>>.stride) / (MonotonicTime.now() - start))
        }
        return best
    }
}
