import LocalModels

/// The answers for one request's rows, whether computed now or read from the cache: a label
/// index per row (classifiers) and `width` values per row (probabilities or targets).
struct PredictionTable: Sendable {
    let width: Int
    var labels: [Int]
    var values: [Double]
    var cached: [Bool]

    init(rowCount: Int, width: Int) {
        self.width = width
        labels = [Int](repeating: 0, count: rowCount)
        values = [Double](repeating: 0, count: rowCount * width)
        cached = [Bool](repeating: false, count: rowCount)
    }

    var rowCount: Int { labels.count }
    var cachedCount: Int { cached.reduce(0) { $0 + ($1 ? 1 : 0) } }

    mutating func set(row: Int, label: Int, values source: some Collection<Double>, cached fromCache: Bool) {
        labels[row] = label
        var index = row * width
        for value in source {
            values[index] = value
            index += 1
        }
        cached[row] = fromCache
    }

    /// Copies `batch` rows `range` into this table's rows `targets` (same count).
    mutating func fill(from batch: ForestBatch, range: Range<Int>, into targets: [Int]) {
        for (offset, target) in targets.enumerated() {
            let row = range.lowerBound + offset
            set(row: target, label: batch.labels[row], values: batch.values(at: row), cached: false)
        }
    }

    func values(at row: Int) -> ArraySlice<Double> {
        values[(row * width)..<((row + 1) * width)]
    }
}

/// Numbers as JSON: Swift's shortest round-trip form, and null where JSON has no number.
enum JSONNumber {
    static func append(_ value: Double, to out: inout [UInt8]) {
        guard value.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            out.append(contentsOf: String(Int64(value)).utf8)
            return
        }
        out.append(contentsOf: value.description.utf8)
    }

    static func append(_ values: some Collection<Double>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        var first = true
        for value in values {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            append(value, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}
