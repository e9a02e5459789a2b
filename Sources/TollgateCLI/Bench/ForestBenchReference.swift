import Foundation
import LocalModels

/// The reference libraries' figures, as `scripts/bench/forest_reference.py --json` writes them.
///
/// Only worth comparing when the script ran on the same machine just before or after the
/// engine's benchmark: the figures move with whatever else the machine is doing.
public struct ForestBenchReference: Sendable {
    /// `rates[library]["threads=T"]["batch=B"]`, rows per second.
    var rates: [String: [String: [String: Double]]]
    var latencies: [String: (p50: Double, p99: Double)]

    public init(contentsOf path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let document = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let libraries = document["rows_per_s"] as? [String: Any]
        else { throw ForestBenchInputError(path: path, reason: "no \"rows_per_s\" object") }
        var rates: [String: [String: [String: Double]]] = [:]
        for (library, value) in libraries {
            for (threads, value) in value as? [String: Any] ?? [:] {
                for (batch, value) in value as? [String: Any] ?? [:] {
                    if let rate = (value as? [String: Any])?["rows_per_s"] as? Double {
                        rates[library, default: [:]][threads, default: [:]][batch] = rate
                    }
                }
            }
        }
        self.rates = rates
        latencies = [:]
        let onnx = (document["onnxruntime_single_row_latency"] as? [String: Any])?["threads=1"] as? [String: Any]
        if let p50 = onnx?["p50_us"] as? Double, let p99 = onnx?["p99_us"] as? Double {
            latencies["onnxruntime"] = (p50, p99)
        }
    }

    public func rowsPerSecond(library: String, threads: Int, batch: Int) -> Double? {
        rates[library]?["threads=\(threads)"]?["batch=\(batch)"]
    }

    func latency(library: String) -> ForestBenchResult.ReferenceLatency? {
        latencies[library].map { ForestBenchResult.ReferenceLatency(library: library, p50: $0.p50, p99: $0.p99) }
    }

    /// The libraries the script ran on the same model file as a format's benchmark model.
    public static func libraries(for format: ForestFormat) -> [String] {
        switch format {
        case .onnx: ["onnxruntime", "sklearn"]
        case .xgboost: ["xgboost"]
        case .lightgbm: ["lightgbm"]
        }
    }
}
