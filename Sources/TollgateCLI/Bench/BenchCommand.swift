import ArgumentParser
import Foundation
import Gateway
import LocalModels

/// `tollgate bench ...`: measurements, in release builds, recorded in docs/benchmarks.md.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release).",
        subcommands: [Forest.self, LLM.self, Batch.self, Limits.self, Embed.self]
    )

    struct Limits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What keys, rate limits and budgets add to a request, in process, beside the same calls with none.",
            discussion: """
                Each iteration checks a virtual key, admits requests- and tokens-per-minute on the key, its tenant \
                and its route, reserves on three budgets, and settles: one ledger row committed (SQLite WAL, in a \
                temporary folder) and the books updated. The reference makes the same calls with no keys and no \
                limits. Iterations alternate between the two.
                """
        )

        @Option(name: .long, help: "Requests to time in each mode.")
        var iterations: Int = 20_000

        func run() async throws {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("tollgate-bench-limits-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try await LimitsBenchmark.run(iterations: iterations, directory: directory)
            func row(_ name: String, _ f: LimitsBenchmark.Figures) -> String {
                String(format: "| %@ | %.1f µs | %.1f µs | %.1f µs |", name, f.p50Microseconds, f.p99Microseconds, f.meanMicroseconds)
            }
            print("| per request, \(result.iterations) requests each | p50 | p99 | mean |")
            print("|---|---:|---:|---:|")
            print(row("no keys, no limits (reference)", result.reference))
            print(row("key + rpm/tpm on key, tenant, route + 3 budgets (books in memory)", result.checksOnly))
            print(row("the same + the ledger row committed", result.limited))
            func added(_ name: String, _ f: LimitsBenchmark.Figures) -> String {
                String(
                    format: "| **added: %@** | **%.1f µs** | %.1f µs | %.1f µs |", name,
                    f.p50Microseconds - result.reference.p50Microseconds, f.p99Microseconds - result.reference.p99Microseconds,
                    f.meanMicroseconds - result.reference.meanMicroseconds)
            }
            print(added("checks", result.checksOnly))
            print(added("checks + ledger", result.limited))
        }
    }

    struct Forest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forest engine rows/s at batch 1, 64 and 10000 on 1 and 2 threads, and single-row latency.",
            discussion: """
                With --dir, measures the models scripts/bench/forest_reference.py writes there (rf.onnx, xgb.json, \
                lgb.txt) on its rows, beside the reference libraries' figures from its reference.json. With --model \
                and --rows, one model on a raw float32 (.f32) or float64 file. With neither, a synthetic random \
                forest of the benchmark's shape (100 trees, depth 10, 4 classes, 32 features).
                """
        )

        @Option(name: .long, help: "Folder written by scripts/bench/forest_reference.py.")
        var dir: String?

        @Option(name: .long, help: "Comma-separated model files in --dir to measure (default: all).")
        var only: String?

        @Option(name: .long, help: "One model file to measure.")
        var model: String?

        @Option(name: .long, help: "Raw little-endian rows for --model (.f32 float32, else float64).")
        var rows: String?

        @Option(name: .long, help: "Seconds per measurement.")
        var seconds: Double = 1

        @Option(name: .long, help: "Repeats per measurement (the median is reported).")
        var repeats: Int = 5

        @Option(name: .long, help: "Write every figure as JSON to this file.")
        var json: String?

        func run() throws {
            let runner = ForestBenchRunner(secondsPerMeasurement: seconds, repeats: repeats)
            let results: [ForestBenchResult]
            if let dir {
                let files = only.map { Set($0.split(separator: ",").map(String.init)) }
                results = try runner.runReferenceModels(directory: dir, only: files)
            } else if let model {
                guard let rows else { throw ValidationError("--model needs --rows") }
                let loaded = try ForestLoader.load(contentsOf: model)
                let matrix = try ForestBenchMatrix.load(contentsOf: rows, featureCount: loaded.featureCount)
                results = [try runner.run(modelPath: model, rows: matrix)]
            } else {
                let forest = CompiledForest(SyntheticForest.randomForest())
                let matrix = ForestBenchMatrix.gaussian(rowCount: 10000, featureCount: forest.featureCount)
                results = [runner.run(forest, rows: matrix, name: "synthetic random forest")]
            }
            for result in results { print(result.table) }
            if let json {
                try ForestBenchResult.json(results).write(toFile: json, atomically: true, encoding: .utf8)
            }
        }
    }
}
