import ArgumentParser
import Foundation
import LocalModels

/// `tollgate predict`: the classic batch job, scored by the same engine the gateway serves.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score every row of a CSV or JSON file with a tree-ensemble model; one JSON object per row.",
        discussion: """
            Writes {"label": ..., "probabilities": [...]} per row for classifiers and {"value": ...} for \
            regressors, in input order, one per line. A CSV header (or JSON objects) is matched to the model's \
            feature names; without one, columns are taken in order.
            """
    )

    @Option(name: .long, help: "Model file: ONNX (.onnx), XGBoost JSON (.json) or LightGBM text (.txt).")
    var model: String

    @Option(name: .long, help: "Model format; guessed from the file when left out.")
    var format: ForestFormat?

    @Option(name: .long, help: "Rows to score: .csv, .json (an array of rows), .jsonl or .ndjson.")
    var input: String

    @Option(name: .long, help: "Where to write the predictions (default: standard output).")
    var output: String?

    @Option(name: .long, help: "Comma-separated names for the model's features (columns picked by header).")
    var featureNames: String?

    @Option(name: .long, help: "Comma-separated names for the classes, in the model's order.")
    var classLabels: String?

    @Option(name: .long, help: "Threads to score with.")
    var threads: Int = 2

    /// Rows read, scored and written at a time.
    static let chunkRows = 65536

    func run() throws {
        let loaded: ForestModel
        do {
            loaded = try ForestLoader.load(contentsOf: model, format: format)
        } catch {
            throw ValidationError(error.description)
        }
        let forest = CompiledForest(loaded)
        let names = featureNames.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            ?? loaded.featureNames
        if let names, names.count != loaded.featureCount {
            throw ValidationError("--feature-names lists \(names.count) names, the model takes \(loaded.featureCount)")
        }
        let labels = try PredictionWriter.labels(for: loaded, override: classLabels)
        let input: BatchInput
        do {
            input = try BatchInput(path: self.input, featureCount: loaded.featureCount, featureNames: names)
        } catch {
            throw ValidationError(error.description)
        }
        let writer = try PredictionWriter(path: output, labels: labels)
        var progress = Progress()
        while true {
            let rows: [Double]
            do {
                rows = try input.next(limit: Self.chunkRows)
            } catch {
                throw ValidationError(error.description)
            }
            let count = rows.count / loaded.featureCount
            guard count > 0 else { break }
            let batch = forest.predict(rows: rows, rowCount: count, threads: max(1, threads))
            try writer.write(batch)
            progress.advance(by: count)
        }
        try writer.close()
        progress.finish()
    }
}

extension ForestFormat: ExpressibleByArgument {}

/// Rows scored so far, on standard error, for large files: at most once a second, and a
/// summary at the end.
struct Progress {
    private let start = Date()
    private var lastReport = Date()
    private var rows = 0

    mutating func advance(by count: Int) {
        rows += count
        let now = Date()
        if now.timeIntervalSince(lastReport) >= 1 {
            lastReport = now
            report(now, done: false)
        }
    }

    func finish() {
        if rows >= 10_000 || Date().timeIntervalSince(start) >= 1 { report(Date(), done: true) }
    }

    private func report(_ now: Date, done: Bool) {
        let seconds = max(now.timeIntervalSince(start), 1e-9)
        let rate = Int(Double(rows) / seconds)
        let line = done
            ? "tollgate predict: scored \(rows) rows in \(String(format: "%.2f", seconds)) s (\(rate) rows/s)\n"
            : "tollgate predict: \(rows) rows scored (\(rate) rows/s)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
