import ArgumentParser
import Foundation
import LocalModels

/// `tollgate bench ...`: measurements, in release builds, recorded in docs/benchmarks.md.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release).",
        subcommands: [Forest.self, LLM.self]
    )

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
