import Dispatch
import Synchronization

/// A `ForestModel` compiled into flat arrays for fast batch evaluation.
///
/// Every split is normalised to "left when `x <= t`", NaN always right: a split that sends
/// NaN left compares `-x` with `-nextUp(t)` instead, reading a negated copy of the row, so
/// one comparison and one select move a row down a level with no branch. Trees of at most
/// 12 levels are laid out complete (children of node `i` at `2i + 1`, `2i + 2`; 8-byte
/// nodes for float32), deeper ones as linked nodes whose leaves point to themselves.
/// Rows are converted once into lane blocks of 32, feature-major, and a block of 512 rows
/// walks one tree at a time, 32 rows in lock step, so the tree stays in cache; a leaf's
/// class weights are added as one vector. Fewer rows walk several trees at once. Every
/// row's sums receive their trees in model order, exactly as `ReferenceEvaluator` adds them,
/// so the results are bit for bit equal. Large batches are shared among threads in units
/// of a few lane blocks.
///
/// Trees with splits this form cannot express (categorical, `==`/`!=`, zero-as-missing)
/// are walked by the reference evaluator instead, in their place in the order.
public final class CompiledForest: Sendable {
    public let model: ForestModel
    let kernel: Kernel

    /// Batches at least this large are split across threads when more than one is allowed.
    public static let parallelThreshold = 64

    /// Threshold precision, then sum precision.
    enum Kernel: Sendable {
        case float32(ForestKernel<Float, Float>)
        case float32Summed64(ForestKernel<Float, Double>)
        case float64Summed32(ForestKernel<Double, Float>)
        case float64(ForestKernel<Double, Double>)
    }

    public convenience init(_ model: ForestModel) {
        self.init(model, heapDepthLimit: 12)
    }

    /// `heapDepthLimit` 0 lays every tree out linked; tests use it to run both layouts.
    init(_ model: ForestModel, heapDepthLimit: Int) {
        self.model = model
        switch (model.splitPrecision, model.accumulation) {
        case (.float32, .float32): kernel = .float32(ForestKernel(model: model, heapDepthLimit: heapDepthLimit))
        case (.float32, .float64): kernel = .float32Summed64(ForestKernel(model: model, heapDepthLimit: heapDepthLimit))
        case (.float64, .float32): kernel = .float64Summed32(ForestKernel(model: model, heapDepthLimit: heapDepthLimit))
        case (.float64, .float64): kernel = .float64(ForestKernel(model: model, heapDepthLimit: heapDepthLimit))
        }
    }

    public var featureCount: Int { model.featureCount }
    /// Values per row in a `ForestBatch`: class probabilities or regression targets.
    public var answerWidth: Int { model.head.answerWidth(outputCount: model.outputCount) }

    /// Evaluates `rowCount` rows laid out row-major in `rows` (`rowCount * featureCount`
    /// values), using up to `threads` threads for large batches.
    public func predict(rows: [Double], rowCount: Int, threads: Int = 1) -> ForestBatch {
        rows.withUnsafeBufferPointer { predict(rows: $0, rowCount: rowCount, threads: threads) }
    }

    /// As `predict(rows:rowCount:threads:)`, reading rows straight from a caller's buffer
    /// (a gateway's micro-batch of many requests' rows).
    public func predict(rows: UnsafeBufferPointer<Double>, rowCount: Int, threads: Int = 1) -> ForestBatch {
        var batch = ForestBatch(rowCount: rowCount, width: answerWidth)
        batch.labels.withUnsafeMutableBufferPointer { labels in
            batch.values.withUnsafeMutableBufferPointer { values in
                predict(rows: rows, rowCount: rowCount, threads: threads, labels: labels, values: values)
            }
        }
        return batch
    }

    /// Evaluates into caller-provided buffers: `labels` gets one label index per row (0 for
    /// regressors), `values` `answerWidth` values per row, row-major. Allocates nothing
    /// for batches evaluated on the calling thread.
    public func predict(
        rows: UnsafeBufferPointer<Double>,
        rowCount: Int,
        threads: Int = 1,
        labels: UnsafeMutableBufferPointer<Int>,
        values: UnsafeMutableBufferPointer<Double>
    ) {
        precondition(rows.count == rowCount * model.featureCount, "rows must be rowCount x featureCount")
        precondition(labels.count >= rowCount && values.count >= rowCount * answerWidth, "output buffers too small")
        guard rowCount > 0, let input = rows.baseAddress else { return }
        let output = BatchOutput(labels: labels, values: values)
        switch kernel {
        case .float32(let kernel): run(kernel, input, rowCount, threads, output)
        case .float32Summed64(let kernel): run(kernel, input, rowCount, threads, output)
        case .float64Summed32(let kernel): run(kernel, input, rowCount, threads, output)
        case .float64(let kernel): run(kernel, input, rowCount, threads, output)
        }
    }

    /// Evaluates one row; the answer's array is the only allocation.
    public func predict(row: [Double]) -> ForestPrediction {
        precondition(row.count == model.featureCount, "row has \(row.count) features, model \(model.featureCount)")
        var label = 0
        let answer = [Double](unsafeUninitializedCapacity: answerWidth) { values, initialized in
            values.initialize(repeating: 0)
            withUnsafeMutablePointer(to: &label) { label in
                row.withUnsafeBufferPointer { row in
                    predict(
                        rows: row,
                        rowCount: 1,
                        labels: UnsafeMutableBufferPointer(start: label, count: 1),
                        values: values
                    )
                }
            }
            initialized = values.count
        }
        return model.head.isClassifier
            ? .classification(labelIndex: label, probabilities: answer)
            : .regression(values: answer)
    }

    private func run<Threshold: FastNumber, Score: FastNumber>(
        _ evaluator: ForestKernel<Threshold, Score>,
        _ input: UnsafePointer<Double>,
        _ rowCount: Int,
        _ threads: Int,
        _ output: BatchOutput
    ) {
        let block = ForestKernel<Threshold, Score>.rowsPerBlock
        guard threads > 1, rowCount >= Self.parallelThreshold else {
            evaluator.withScratch(rows: rowCount) { scratch in
                var first = 0
                while first < rowCount {
                    let count = min(block, rowCount - first)
                    evaluator.evaluate(input, first: first, count: count, into: output, scratch)
                    first += count
                }
            }
            return
        }
        // Units of a few lane blocks, handed out as workers ask, so a thread the machine
        // slows down does less of the work instead of holding up the batch.
        let unit = min(block, max(laneCount, (rowCount / (threads * 4) + laneCount - 1) / laneCount * laneCount))
        let units = (rowCount + unit - 1) / unit
        let next = Atomic<Int>(0)
        let shared = SharedRows(pointer: input)
        DispatchQueue.concurrentPerform(iterations: min(threads, units)) { _ in
            evaluator.withScratch(rows: unit) { scratch in
                while true {
                    let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard index < units else { return }
                    let first = index * unit
                    evaluator.evaluate(
                        shared.pointer,
                        first: first,
                        count: min(unit, rowCount - first),
                        into: output,
                        scratch
                    )
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
    let pointer: UnsafePointer<Double>
}

/// Where evaluation threads write their rows; each thread owns disjoint rows.
struct BatchOutput: @unchecked Sendable {
    let labels: UnsafeMutableBufferPointer<Int>
    let values: UnsafeMutableBufferPointer<Double>

    @inline(__always)
    func write(row: Int, head: Head, scores: UnsafeMutableBufferPointer<Double>, width: Int) {
        let answer = UnsafeMutableBufferPointer(start: values.baseAddress! + row * width, count: width)
        labels[row] = head.finish(scores: UnsafeBufferPointer(scores), into: answer)
    }
}
