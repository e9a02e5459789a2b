import Foundation
import TollgateJSON

/// The rows of a batch-scoring input file, a chunk at a time: CSV (with or without a header),
/// a JSON array of rows (arrays, or objects keyed by feature name; or `{"inputs": [...]}`),
/// or JSON lines (`.jsonl`, `.ndjson`: one row per line).
///
/// A header or object keys are matched to the model's feature names; columns the model does
/// not use (an id, the true label) are skipped. Empty cells, `NA`, `NaN` and `null` are
/// missing values.
final class BatchInput {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    enum Source {
        case csv(CSVRecordReader)
        case rows([JSONValue], next: Int)
    }

    let path: String
    let featureCount: Int
    let featureNames: [String]?
    private var source: Source
    /// CSV column feeding each feature, once the header (or the first row) is seen.
    private var columns: [Int]?

    init(path: String, featureCount: Int, featureNames: [String]?) throws(Failure) {
        self.path = path
        self.featureCount = featureCount
        self.featureNames = featureNames
        let lower = path.lowercased()
        if lower.hasSuffix(".json") || lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") {
            source = .rows(try Self.jsonRows(path: path, lines: !lower.hasSuffix(".json")), next: 0)
        } else {
            do {
                source = .csv(try CSVRecordReader(path: path))
            } catch {
                throw Failure(description: error.description)
            }
        }
    }

    /// Up to `limit` rows, row-major; an empty array at the end.
    func next(limit: Int) throws(Failure) -> [Double] {
        var values: [Double] = []
        values.reserveCapacity(limit * featureCount)
        var rows = 0
        while rows < limit {
            switch source {
            case .csv(var reader):
                // Taken out of the enum so it is uniquely referenced while it reads.
                source = .rows([], next: 0)
                defer { source = .csv(reader) }
                while rows < limit {
                    let found: Bool
                    do {
                        found = try reader.next()
                    } catch {
                        throw Failure(description: error.description)
                    }
                    guard found else { return values }
                    if try appendCSV(reader, to: &values) { rows += 1 }
                }
                return values
            case .rows(let items, let index):
                guard index < items.count else { return values }
                source = .rows(items, next: index + 1)
                try appendJSON(items[index], row: index, to: &values)
                rows += 1
            }
        }
        return values
    }

    /// Returns false for a header record.
    private func appendCSV(_ record: CSVRecordReader, to values: inout [Double]) throws(Failure) -> Bool {
        let line = record.line
        if columns == nil {
            let isHeader = (0..<record.count).contains { record.number($0) == nil }
            if isHeader {
                columns = try headerColumns((0..<record.count).map(record.string), line: line)
                return false
            }
            guard record.count == featureCount else {
                throw Failure(
                    description: "\(path):\(line): \(record.count) columns and no header; the model takes \(featureCount) "
                        + "features (add a header naming them to pick columns)")
            }
            columns = Array(0..<featureCount)
        }
        let columns = columns!
        for (feature, column) in columns.enumerated() {
            guard column < record.count else {
                throw Failure(description: "\(path):\(line): \(record.count) columns, expected at least \(column + 1)")
            }
            guard let value = record.number(column) else {
                let name = featureNames?[feature] ?? "feature \(feature)"
                throw Failure(description: "\(path):\(line): \(name): '\(record.string(column).prefix(40))' is not a number")
            }
            values.append(value)
        }
        return true
    }

    private func headerColumns(_ header: [String], line: Int) throws(Failure) -> [Int] {
        let trimmed = header.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let names = featureNames else {
            guard header.count == featureCount else {
                throw Failure(
                    description: "\(path):\(line): the header has \(header.count) columns, the model takes "
                        + "\(featureCount) unnamed features (pass --feature-names to pick columns by name)")
            }
            return Array(0..<featureCount)
        }
        var columns: [Int] = []
        var missing: [String] = []
        for name in names {
            if let column = trimmed.firstIndex(of: name) { columns.append(column) } else { missing.append(name) }
        }
        guard missing.isEmpty else {
            throw Failure(description: "\(path):\(line): the header lacks the model's features \(missing.joined(separator: ", "))")
        }
        return columns
    }

    private func appendJSON(_ row: JSONValue, row index: Int, to values: inout [Double]) throws(Failure) {
        func value(_ cell: JSONValue, _ what: String) throws(Failure) -> Double {
            switch cell {
            case .null: return .nan
            case .number(let lexeme):
                if let number = Double(lexeme) { return number }
            case .string(let text):
                if let number = Self.number(text) { return number }
            default: break
            }
            throw Failure(description: "\(path): row \(index): \(what) is not a number")
        }
        switch row {
        case .array(let cells):
            guard cells.count == featureCount else {
                throw Failure(description: "\(path): row \(index) has \(cells.count) values, the model takes \(featureCount)")
            }
            for (column, cell) in cells.enumerated() { values.append(try value(cell, "value \(column)")) }
        case .object(let fields):
            guard let names = featureNames else {
                throw Failure(description: "\(path): row \(index) is an object, but the model has no feature names")
            }
            for name in names {
                guard let cell = fields[name] else {
                    throw Failure(description: "\(path): row \(index) lacks feature '\(name)'")
                }
                values.append(try value(cell, "'\(name)'"))
            }
        default:
            throw Failure(description: "\(path): row \(index) must be an array of numbers or an object")
        }
    }

    private static func jsonRows(path: String, lines: Bool) throws(Failure) -> [JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "\(path): cannot read the file")
        }
        do {
            if lines {
                var rows: [JSONValue] = []
                for (number, line) in data.split(separator: 0x0A, omittingEmptySubsequences: true).enumerated() {
                    let bytes = [UInt8](line)
                    guard bytes.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { continue }
                    do {
                        rows.append(try JSONParser.parse(bytes))
                    } catch {
                        throw Failure(description: "\(path): line \(number + 1): \(error)")
                    }
                }
                return rows
            }
            let document = try JSONParser.parse([UInt8](data))
            if case .array(let rows) = document { return rows }
            if case .array(let rows)? = document["inputs"] { return rows }
            throw Failure(description: "\(path): expected a JSON array of rows or {\"inputs\": [...]}")
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(path): not valid JSON: \(error)")
        }
    }

    static func number(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch trimmed {
        case "", "NA", "N/A", "NaN", "nan", "NAN", "null", "None": return .nan
        default: return Double(trimmed)
        }
    }
}
