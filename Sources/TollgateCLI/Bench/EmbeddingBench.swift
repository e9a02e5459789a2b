import ArgumentParser
import Foundation
import LocalModels

extension BenchCommand {
    /// `tollgate bench embed`: embeddings per second of a BERT GGUF model through the engine the gateway runs,
    /// requests of `--batch` texts one after another. scripts/bench/embeddings.py runs it beside llama.cpp's
    /// embedding mode on the same file, interleaved.
    struct Embed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "embed",
            abstract: "Embeddings per second of a bert GGUF model, requests of --batch texts one after another.",
            discussion: """
                Texts come from --texts (one per line) or a built-in set of ordinary English sentences. Each request \
                goes through EmbeddingEngine.embed (tokenising included), the next one when it returns, for \
                --seconds after a warm-up; the figure is texts embedded per second of wall time.
                """
        )

        @Option(name: .long, help: "bert GGUF model file.") var model: String
        @Option(name: .long, help: "Threads, the engine thread included.") var threads = 2
        @Option(name: .long, help: "Texts per request (repeatable).") var batch: [Int] = [1, 32]
        @Option(name: .long, help: "Seconds to time each batch size.") var seconds = 3.0
        @Option(name: .long, help: "A file of texts, one per line.") var texts: String?
        @Option(name: .long, help: "Write the figures as JSON to this file.") var json: String?

        func run() async throws {
            let corpus = try texts.map { path in
                try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
            } ?? Self.sentences
            guard !corpus.isEmpty else { throw ValidationError("--texts has no lines") }
            let engine = try EmbeddingEngine(path: model, threads: threads)
            defer { engine.shutdown() }
            let tokens = corpus.map { engine.encoder.tokenize($0).count }
            var figures: [[String: Double]] = []
            for size in batch {
                guard size > 0 else { throw ValidationError("--batch must be positive") }
                var next = 0
                func request() -> [String] {
                    (0..<size).map { _ in
                        defer { next = (next + 1) % corpus.count }
                        return corpus[next]
                    }
                }
                // Warm-up: pages the weights in.
                for _ in 0..<max(1, 64 / size) { _ = try await engine.embed(request()) }
                var embedded = 0
                var tokenCount = 0
                let start = MonotonicTime.now()
                var elapsed = 0.0
                while elapsed < seconds {
                    let result = try await engine.embed(request())
                    embedded += result.vectors.count
                    tokenCount += result.promptTokens
                    elapsed = MonotonicTime.now() - start
                }
                let perSecond = Double(embedded) / elapsed
                print(
                    String(
                        format: "batch %3d: %8.1f embeddings/s  %9.0f tokens/s  (%d texts, %.1f tokens each, %.2f s)",
                        size, perSecond, Double(tokenCount) / elapsed, embedded,
                        Double(tokenCount) / Double(max(embedded, 1)), elapsed))
                figures.append([
                    "batch": Double(size), "embeddings_per_second": perSecond,
                    "tokens_per_second": Double(tokenCount) / elapsed, "texts": Double(embedded), "seconds": elapsed,
                ])
            }
            if let json {
                let document: [String: Any] = [
                    "model": model, "threads": threads, "results": figures,
                    "mean_tokens_per_text": Double(tokens.reduce(0, +)) / Double(tokens.count),
                ]
                let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
                try data.write(to: URL(fileURLWithPath: json))
            }
        }

        /// Ordinary sentences of 8 to 25 words (about 12 to 30 tokens), the length of a typical search query or
        /// passage sentence.
        static let sentences = [
            "A man is eating food at a small table near the window.",
            "The new movie is awesome and the soundtrack is even better.",
            "Two dogs are running through a field of tall green grass.",
            "She finally finished the report after working late for three nights in a row.",
            "How do I reset my password if I no longer have access to my email account?",
            "The committee will meet again next Tuesday to discuss the budget for the coming year.",
            "Heavy rain caused flooding in several neighbourhoods on the east side of the city.",
            "Machine learning models can be expensive to run, so caching their answers saves money.",
            "Please send me the invoice for last month's order as soon as possible.",
            "The train to the airport leaves every fifteen minutes from platform four.",
            "Researchers found that regular exercise improves both memory and mood in older adults.",
            "What is the difference between a virus and a bacterium?",
            "The recipe calls for two cups of flour, one egg and a pinch of salt.",
            "Our team shipped the new search feature two weeks ahead of schedule.",
            "He plays the guitar in a band that performs at local cafes on weekends.",
            "Customers can return any item within thirty days for a full refund.",
        ]
    }
}
