import Dispatch

/// A `ForestModel` compiled into flat arrays for fast batch evaluation.
///
/// Every node becomes 16 bytes (float32 thresholds) or 24 bytes (float64): threshold,
/// feature with two flag bits, and both children. Each split is normalised to "left when
/// `x <= t`, NaN left when flagged", so one comparison and one select move a row down a
/// level with no branch. Leaves point to themselves, so a block of rows walks a tree in
/// lock step for the tree's depth and rows that arrive early just stay put. Rows are
/// evaluated in blocks of `blockSize`, trees in model order, so the sums are added in
/// exactly the order `ReferenceEvaluator` adds them and the results are bit for bit equal.
///
/// Trees with splits this form cannot express (categorical, `==`/`!=`, zero-as-missing,
/// infinite thresholds under `<`/`>=`) are walked by the reference evaluator instead, in
/// their place in the order.
public final class CompiledForest: Sendable {
    public let model: ForestModel
    let kernel: Kernel
    private let reference: ReferenceEvaluator

    /// Rows walked together through one tree.
    static let blockSize = 16
    /// Batches at least this large are split across threads.
    public static let parallelThreshold = 512

    /// Threshold precision, then sum precision.
    enum Kernel: Sendable {
        case float32(NodeTable<Float, Float>)
        case float32Summed64(NodeTable<Float, Double>)
        case float64Summed32(NodeTable<Double, Float>)
        case float64(NodeTable<Double, Double>)
    }

    public init(_ model: ForestModel) {
        self.model = model
        self.reference = ReferenceEvaluator(model: model)
        switch (model.splitPrecision, model.accumulation) {
        case (.float32, .float32): kernel = .float32(NodeTable(model: model))
        case (.float32, .float64): kernel = .float32Summed64(NodeTable(model: model))
        case (.float64, .float32): kernel = .float64Summed32(NodeTable(model: model))
        case (.float64, .float64): kernel = .float64(NodeTable(model: model))
        }
    }

    public var featureCount: Int { model.featureCount }
    /// Values per row in a `ForestBatch`: class probabilities or regression targets.
    public var answerWidth: Int { model.head.answerWidth(outputCount: model.outputCount) }

    /// Evaluates `rowCount` rows laid out row-major in `rows` (`rowCount * featureCount`
    /// values), using up to `threads` threads for large batches.
    public func predict(rows: [Double], rowCount: Int, threads: Int = 1) -> ForestBatch {
        precondition(rows.count == rowCount * model.featureCount, "rows must be rowCount x featureCount")
        var batch = ForestBatch(rowCount: rowCount, width: answerWidth)
        guard rowCount > 0 else { return batch }
        let chunks = threads > 1 && rowCount >= Self.parallelThreshold ? min(threads, rowCount / 256) : 1
        rows.withUnsafeBufferPointer { input in
            batch.labels.withUnsafeMutableBufferPointer { labels in
                batch.values.withUnsafeMutableBufferPointer { values in
                    let output = BatchOutput(labels: labels, values: values)
                    let input = SharedRows(buffer: input)
                    if chunks <= 1 {
                        evaluate(input.buffer, rowRange: 0..<rowCount, into: output)
                    } else {
                        let per = (rowCount + chunks - 1) / chunks
                        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                            let start = chunk * per
                            let end = min(rowCount, start + per)
                            if start < end { evaluate(input.buffer, rowRange: start..<end, into: output) }
                        }
                    }
                }
            }
        }
        return batch
    }

    /// Evaluates one row.
    public func predict(row: [Double]) -> ForestPrediction {
        prediction(predict(rows: row, rowCount: 1), at: 0)
    }

    private func evaluate(_ input: UnsafeBufferPointer<Double>, rowRange: Range<Int>, into output: BatchOutput) {
        switch kernel {
        case .float32(let table): evaluate(table, input, rowRange, output)
        case .float32Summed64(let table): evaluate(table, input, rowRange, output)
        case .float64Summed32(let table): evaluate(table, input, rowRange, output)
        case .float64(let table): evaluate(table, input, rowRange, output)
        }
    }

    @inline(__always)
    private func evaluate<Threshold: FastNumber, Score: FastNumber>(
        _ table: NodeTable<Threshold, Score>, _ input: UnsafeBufferPointer<Double>, _ rowRange: Range<Int>, _ output: BatchOutput
    ) {
        let features = model.featureCount
        let outputs = model.outputCount
        let blockSize = Self.blockSize
        let treeCount = Score(model.trees.count)
        let width = answerWidth
        withUnsafeTemporaryAllocation(of: Threshold.self, capacity: blockSize * features) { block in
            withUnsafeTemporaryAllocation(of: Score.self, capacity: blockSize * outputs) { sums in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: blockSize) { cursor in
                  withUnsafeTemporaryAllocation(of: Int.self, capacity: blockSize) { laneRow in
                    withUnsafeTemporaryAllocation(of: Double.self, capacity: outputs) { finished in
                        var start = rowRange.lowerBound
                        while start < rowRange.upperBound {
                            let count = min(blockSize, rowRange.upperBound - start)
                            let firstValue = start * features
                            for index in 0..<(count * features) {
                                block[index] = Threshold(input[firstValue + index])
                            }
                            sums.initialize(repeating: 0)
                            if model.baseTiming == .beforeTrees {
                                for (o, base) in model.baseScores.enumerated() {
                                    for r in 0..<count { sums[r * outputs + o] = Score(base) }
                                }
                            }
                            let treesPerWalk = max(1, blockSize / count)
                            var tree = 0
                            while tree < table.trees.count {
                                guard table.trees[tree].isCompiled else {
                                    for r in 0..<count {
                                        let row = UnsafeBufferPointer(
                                            rebasing: input[((start + r) * features)..<((start + r + 1) * features)]
                                        )
                                        for value in reference.leaf(of: model.trees[tree], row: row) {
                                            sums[r * outputs + value.output] += Score(value.value)
                                        }
                                    }
                                    tree += 1
                                    continue
                                }
                                var end = tree + 1
                                while end < table.trees.count, end - tree < treesPerWalk, table.trees[end].isCompiled {
                                    end += 1
                                }
                                table.walk(
                                    group: tree..<end, block: UnsafePointer(block.baseAddress!), features: features,
                                    rows: count, cursor: cursor.baseAddress!, laneRow: laneRow.baseAddress!
                                )
                                table.addLeaves(
                                    cursor: cursor.baseAddress!, lanes: (end - tree) * count, rows: count,
                                    sums: sums.baseAddress!, outputs: outputs
                                )
                                tree = end
                            }
                            for r in 0..<count {
                                for o in 0..<outputs {
                                    var sum = sums[r * outputs + o]
                                    if model.aggregation == .average { sum /= treeCount }
                                    if model.baseTiming == .afterTrees, o < model.baseScores.count {
                                        sum += Score(model.baseScores[o])
                                    }
                                    finished[o] = Double(sum)
                                }
                                output.write(row: start + r, head: model.head, scores: finished, width: width)
                            }
                            start += count
                        }
                    }
                  }
                }
            }
        }
    }
}

/// Predictions for a batch: one label index per row (classifiers) and `width` values per
/// row, row-major.
public struct ForestBatch: Sendable {
    public let rowCount: Int
    public let width: Int
    public var labels: [Int]
    public var values: [Double]

    init(rowCount: Int, width: Int) {
        self.rowCount = rowCount
        self.width = width
        labels = [Int](repeating: 0, count: rowCount)
        values = [Double](repeating: 0, count: rowCount * width)
    }

    public func values(at row: Int) -> ArraySlice<Double> {
        values[(row * width)..<((row + 1) * width)]
    }
}

extension CompiledForest {
    /// Row `row` of `batch` as the reference evaluator's type.
    public func prediction(_ batch: ForestBatch, at row: Int) -> ForestPrediction {
        batch.prediction(at: row, classifier: model.head.isClassifier)
    }
}

extension ForestBatch {
    func prediction(at row: Int, classifier: Bool) -> ForestPrediction {
        classifier
            ? .classification(labelIndex: labels[row], probabilities: Array(values(at: row)))
            : .regression(values: Array(values(at: row)))
    }
}

/// The batch's input, read by every evaluation thread while `predict` waits for them.
struct SharedRows: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<Double>
}

/// Where evaluation threads write their rows; each thread owns disjoint rows.
struct BatchOutput: @unchecked Sendable {
    let labels: UnsafeMutableBufferPointer<Int>
    let values: UnsafeMutableBufferPointer<Double>

    func write(row: Int, head: Head, scores: UnsafeMutableBufferPointer<Double>, width: Int) {
        let answer = UnsafeMutableBufferPointer(rebasing: values[(row * width)..<((row + 1) * width)])
        labels[row] = head.finish(scores: UnsafeBufferPointer(scores), into: answer)
    }
}
