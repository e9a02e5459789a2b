import ArgumentParser
import Foundation
import LocalModels
import TollgateJSON

/// Writes one JSON object per scored row, buffered, to a file or standard output.
final class PredictionWriter {
    private let handle: FileHandle
    private let ownsHandle: Bool
    /// JSON for each class label; nil for a regressor.
    private let labels: [[UInt8]]?
    private var buffer: [UInt8] = []

    init(path: String?, labels: [[UInt8]]?) throws {
        self.labels = labels
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path)
            else {
                throw ValidationError("\(path): cannot create the output file")
            }
            self.handle = handle
            ownsHandle = true
        } else {
            handle = FileHandle.standardOutput
            ownsHandle = false
        }
        buffer.reserveCapacity(1 << 20)
    }

    /// The JSON of each class label: `override` (comma-separated names) or the file's labels.
    static func labels(for model: ForestModel, override: String?) throws -> [[UInt8]]? {
        guard case .classification(let fileLabels, _) = model.head else {
            if override != nil { throw ValidationError("--class-labels is set, but the model is a regressor") }
            return nil
        }
        if let override {
            let names = override.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard names.count == fileLabels.count else {
                throw ValidationError("--class-labels lists \(names.count) names, the model has \(fileLabels.count) classes")
            }
            return names.map { JSONWriter.bytes(.string($0)) }
        }
        switch fileLabels {
        case .integers(let values): return values.map { Array(String($0).utf8) }
        case .strings(let names): return names.map { JSONWriter.bytes(.string($0)) }
        }
    }

    func write(_ batch: ForestBatch) throws {
        for row in 0..<batch.rowCount {
            let values = batch.values(at: row)
            if let labels {
                buffer.append(contentsOf: #"{"label":"#.utf8)
                buffer.append(contentsOf: labels[batch.labels[row]])
                buffer.append(contentsOf: #","probabilities":"#.utf8)
                appendNumbers(values)
            } else if values.count == 1 {
                buffer.append(contentsOf: #"{"value":"#.utf8)
                appendNumber(values[values.startIndex])
            } else {
                buffer.append(contentsOf: #"{"values":"#.utf8)
                appendNumbers(values)
            }
            buffer.append(contentsOf: "}\n".utf8)
            if buffer.count >= 1 << 20 { flush() }
        }
    }

    func close() throws {
        flush()
        if ownsHandle { try handle.close() }
    }

    private func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    private func appendNumbers(_ values: ArraySlice<Double>) {
        buffer.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            appendNumber(value)
        }
        buffer.append(UInt8(ascii: "]"))
    }

    private func appendNumber(_ value: Double) {
        buffer.append(contentsOf: (value.isFinite ? value.description : "null").utf8)
    }
}
