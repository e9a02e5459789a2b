import Foundation
import LocalModels
import TollgateJSON

/// One fixture written by `scripts/forest_fixtures.py`: a model file, input rows and what
/// the reference library (onnxruntime, xgboost, lightgbm) answered for them.
struct ForestFixture: Sendable, CustomStringConvertible {
    var name: String
    var format: ForestFormat
    var modelPath: String
    var isClassifier: Bool
    var featureCount: Int
    var inputs: [[Double]]
    var expectedLabels: [JSONValue]
    var expectedProbabilities: [[Double]]
    var expectedValues: [[Double]]
    var classLabels: [JSONValue]

    var description: String { name }

    static let root: URL = Bundle.module.resourceURL!
        .appendingPathComponent("Fixtures").appendingPathComponent("forest")

    /// Every fixture of a format, sorted by name; empty when none are committed.
    static func all(_ format: ForestFormat? = nil) -> [ForestFixture] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.sorted().compactMap { name in
            let directory = root.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("case.json").path),
                  let fixture = try? ForestFixture(json: Array(data), directory: directory)
            else { return nil }
            return format == nil || fixture.format == format ? fixture : nil
        }
    }

    init(json: [UInt8], directory: URL) throws {
        guard case .object(let object) = try JSONParser.parse(json) else { throw FixtureError.malformed("case.json") }
        func numbers(_ value: JSONValue?) -> [[Double]] {
            guard case .array(let rows)? = value else { return [] }
            return rows.map { row in
                guard case .array(let cells) = row else { return [] }
                return cells.map { cell in
                    switch cell {
                    case .null: return .nan
                    case .string("inf"): return .infinity
                    case .string("-inf"): return -.infinity
                    case .string("nan"): return .nan
                    default: return cell.doubleValue ?? .nan
                    }
                }
            }
        }
        func array(_ value: JSONValue?) -> [JSONValue] {
            if case .array(let values)? = value { return values }
            return []
        }
        name = object["name"]?.stringValue ?? directory.lastPathComponent
        guard let formatName = object["format"]?.stringValue, let format = ForestFormat(rawValue: formatName) else {
            throw FixtureError.malformed("\(name): format")
        }
        self.format = format
        modelPath = directory.appendingPathComponent(object["model"]?.stringValue ?? "").path
        isClassifier = object["task"]?.stringValue == "classification"
        featureCount = object["feature_count"]?.intValue ?? 0
        inputs = numbers(object["inputs"])
        expectedLabels = array(object["expected_labels"])
        expectedProbabilities = numbers(object["expected_probabilities"])
        expectedValues = numbers(object["expected_values"])
        classLabels = array(object["class_labels"])
    }

    /// Differences between what `predict` answers and what the reference answered, at most
    /// `limit` of them, each naming the row; empty when every row agrees to `tolerance`.
    func mismatches(
        tolerance: Double = 1e-6, limit: Int = 10, predict: ([Double]) -> ForestPrediction
    ) -> [String] {
        var problems: [String] = []
        for (rowIndex, row) in inputs.enumerated() where problems.count < limit {
            let prediction = predict(row)
            switch prediction {
            case .classification(let labelIndex, let probabilities):
                guard isClassifier else { problems.append("row \(rowIndex): classification for a regressor"); continue }
                let expected = expectedProbabilities[rowIndex]
                if !close(probabilities, expected, tolerance) {
                    problems.append("row \(rowIndex) \(row): probabilities \(probabilities), expected \(expected)")
                }
                if rowIndex < expectedLabels.count, labelIndex < classLabels.count,
                   classLabels[labelIndex] != expectedLabels[rowIndex],
                   !(classLabels[labelIndex].doubleValue != nil
                     && classLabels[labelIndex].doubleValue == expectedLabels[rowIndex].doubleValue) {
                    problems.append("row \(rowIndex): label \(classLabels[labelIndex]), expected \(expectedLabels[rowIndex])")
                }
            case .regression(let values):
                guard !isClassifier else { problems.append("row \(rowIndex): regression for a classifier"); continue }
                let expected = expectedValues[rowIndex]
                if !close(values, expected, tolerance) {
                    problems.append("row \(rowIndex) \(row): values \(values), expected \(expected)")
                }
            }
        }
        return problems
    }

    /// Mismatches through every evaluation path: the reference walk, the compiled kernel row
    /// by row, and one batch with enough copies of the rows to cross the parallel threshold,
    /// so that two threads split it (its first and last copies are checked).
    func mismatchesOnEveryPath(_ model: ForestModel) -> [String] {
        let reference = ReferenceEvaluator(model: model)
        var problems = mismatches { reference.predict(row: $0) }.map { "reference: " + $0 }
        let compiled = CompiledForest(model)
        problems += mismatches { compiled.predict(row: $0) }.map { "compiled row: " + $0 }
        let copies = CompiledForest.parallelThreshold / inputs.count + 1
        let rows = Array(repeating: inputs, count: copies).flatMap { $0 }
        let batch = compiled.predict(rows: rows.flatMap { $0 }, rowCount: rows.count, threads: 2)
        for copy in [0, copies - 1] {
            var row = copy * inputs.count
            problems += mismatches { _ in
                defer { row += 1 }
                return compiled.prediction(batch, at: row)
            }.map { "compiled batch copy \(copy): " + $0 }
        }
        return problems
    }

    private func close(_ actual: [Double], _ expected: [Double], _ tolerance: Double) -> Bool {
        actual.count == expected.count && zip(actual, expected).allSatisfy { abs($0 - $1) <= tolerance }
    }
}

/// The error `load` throws, or nil when it loads: loader tests assert on the message.
func loadError(_ load: () throws(ForestLoadError) -> ForestModel) -> ForestLoadError? {
    do {
        _ = try load()
        return nil
    } catch {
        return error
    }
}

enum FixtureError: Error {
    case malformed(String)
}
