import Foundation
import LocalModels

/// What `ForestBenchRunner` measured on one model, printable as a table or as JSON.
public struct ForestBenchResult: Sendable, Codable {
    public var name: String
    public var model: ModelSummary
    public var rowCount: Int
    public var secondsPerMeasurement: Double
    public var repeats: Int
    public var agreement: Agreement
    public var throughput: [Throughput]
    public var latency: Latency
    /// Single-row latency of the reference libraries, from the same machine.
    public var referenceLatency: [ReferenceLatency] = []
    /// Time to read and convert the model file, when the benchmark loaded it.
    public var loadSeconds: Double?
    /// Time `CompiledForest.init` took.
    public var compileSeconds: Double?

    public struct ModelSummary: Sendable, Codable {
        public var format: String
        public var trees: Int
        public var nodes: Int
        public var outputs: Int
        public var features: Int
        public var splitPrecision: String
        public var accumulation: String

        public init(_ forest: CompiledForest) {
            let model = forest.model
            format = model.format.rawValue
            trees = model.trees.count
            nodes = model.trees.reduce(0) { $0 + $1.nodes.count }
            outputs = model.outputCount
            features = model.featureCount
            splitPrecision = model.splitPrecision == .float32 ? "float32" : "float64"
            accumulation = model.accumulation == .float32 ? "float32" : "float64"
        }
    }

    public func json() -> String {
        Self.encode(self)
    }

    /// Several results as one JSON array.
    public static func json(_ results: [ForestBenchResult]) -> String {
        encode(results)
    }

    private static func encode<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public var table: String {
        let libraries = throughput.first?.reference.map(\.library) ?? []
        var lines = [
            "\(name): \(model.format), \(model.trees) trees, \(model.nodes) nodes, \(model.outputs) outputs, "
                + "\(model.features) features, \(model.splitPrecision) splits, \(model.accumulation) sums; "
                + "\(rowCount) rows, ~\(Self.number(secondsPerMeasurement))s per figure, median of \(repeats)"
        ]
        var header = "| batch | threads |      rows/s |       min..max"
        var rule = "|------:|--------:|------------:|---------------:"
        for library in libraries {
            header += " | \(library.padding(toLength: 12, withPad: " ", startingAt: 0)) |  ratio"
            rule += "|-------------:|-------:"
        }
        lines += [header + " |", rule + "|"]
        for row in throughput {
            var line =
                "| \(Self.pad(String(row.batch), 5)) | \(Self.pad(String(row.threads), 7)) | "
                + "\(Self.pad(Self.rate(row.rowsPerSecond), 11)) | "
                + "\(Self.pad(Self.rate(row.minimum) + ".." + Self.rate(row.maximum), 14))"
            for library in libraries {
                let match = row.reference.first { $0.library == library }
                line +=
                    " | \(Self.pad(match.map { Self.rate($0.rowsPerSecond) } ?? "-", 12)) | "
                    + Self.pad(match.map { Self.number($0.ratio) + "x" } ?? "-", 6)
            }
            lines.append(line + " |")
        }
        lines.append(
            "single-row latency: p50 \(Self.number(latency.p50)) us, p99 \(Self.number(latency.p99)) us, "
                + "mean \(Self.number(latency.mean)) us (\(latency.samples) calls)"
        )
        for other in referenceLatency {
            lines.append(
                "  \(other.library) (threads=1): p50 \(Self.number(other.p50)) us, p99 \(Self.number(other.p99)) us"
            )
        }
        if let loadSeconds, let compileSeconds {
            lines.append("load \(Self.number(loadSeconds * 1000)) ms, compile \(Self.number(compileSeconds * 1000)) ms")
        }
        lines.append(
            agreement.mismatches == 0
                ? "agreement: \(agreement.rowsChecked) rows bit for bit equal to ReferenceEvaluator"
                : "agreement: \(agreement.mismatches) of \(agreement.rowsChecked) rows DIFFER from ReferenceEvaluator"
        )
        return lines.joined(separator: "\n")
    }

    static func rate(_ value: Double) -> String {
        if value >= 1e6 { return String(format: "%.2fM", value / 1e6) }
        if value >= 1e3 { return String(format: "%.1fk", value / 1e3) }
        return String(format: "%.0f", value)
    }

    static func number(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: value >= 10 ? "%.1f" : "%.2f", value)
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}

extension ForestBenchResult {
    /// Rows per second at one batch size and thread count.
    public struct Throughput: Sendable, Codable {
        public var batch: Int
        public var threads: Int
        /// Median over the repeats.
        public var rowsPerSecond: Double
        public var minimum: Double
        public var maximum: Double
        public var repeats: Int
        /// The reference libraries at the same batch and threads, and this engine's speed over theirs.
        public var reference: [ReferenceRate] = []
    }

    public struct ReferenceRate: Sendable, Codable {
        public var library: String
        public var rowsPerSecond: Double
        public var ratio: Double
    }

    /// Single-row latency in microseconds.
    public struct Latency: Sendable, Codable {
        public var p50: Double
        public var p99: Double
        public var mean: Double
        public var samples: Int
    }

    public struct ReferenceLatency: Sendable, Codable {
        public var library: String
        public var p50: Double
        public var p99: Double
    }

    public struct Agreement: Sendable, Codable {
        public var rowsChecked: Int
        public var mismatches: Int
    }
}
