import Dispatch
import LocalModels

/// Measures a `CompiledForest` the way `scripts/bench/forest_reference.py` measures the
/// reference libraries, so the two sets of figures can sit side by side: rows per second at
/// each batch size and thread count (each measurement about `secondsPerMeasurement`, split
/// into `repeats`, the median reported), then single-row latency.
///
/// Batches are cut from the benchmark rows ahead of time, as the script does: the whole
/// matrix when the batch is at least that large, else up to 512 consecutive slices used in
/// turn, so a measurement never times the slicing.
public struct ForestBenchRunner: Sendable {
    public var batchSizes: [Int]
    public var threadCounts: [Int]
    public var secondsPerMeasurement: Double
    public var repeats: Int
    public var latencySeconds: Double
    /// Rows checked bit for bit against `ReferenceEvaluator` before timing.
    public var agreementRows: Int

    public init(
        batchSizes: [Int] = [1, 64, 10000],
        threadCounts: [Int] = [1, 2],
        secondsPerMeasurement: Double = 1,
        repeats: Int = 5,
        latencySeconds: Double = 1,
        agreementRows: Int = 1000
    ) {
        self.batchSizes = batchSizes
        self.threadCounts = threadCounts
        self.secondsPerMeasurement = secondsPerMeasurement
        self.repeats = repeats
        self.latencySeconds = latencySeconds
        self.agreementRows = agreementRows
    }

    public func run(
        _ forest: CompiledForest,
        rows: ForestBenchMatrix,
        name: String,
        reference: ForestBenchReference? = nil,
        libraries: [String]? = nil
    ) -> ForestBenchResult {
        precondition(
            rows.featureCount == forest.featureCount,
            "rows have \(rows.featureCount) features, model \(forest.featureCount)"
        )
        let libraries = libraries ?? ForestBenchReference.libraries(for: forest.model.format)
        var result = ForestBenchResult(
            name: name,
            model: .init(forest),
            rowCount: rows.rowCount,
            secondsPerMeasurement: secondsPerMeasurement,
            repeats: repeats,
            agreement: agreement(forest, rows),
            throughput: [],
            latency: latency(forest, rows)
        )
        for threads in threadCounts {
            for batch in batchSizes {
                var measured = throughput(forest, rows, batch: batch, threads: threads)
                measured.reference = libraries.compactMap { library in
                    reference?.rowsPerSecond(library: library, threads: threads, batch: batch).map {
                        ForestBenchResult.ReferenceRate(library: library, rowsPerSecond: $0, ratio: measured.rowsPerSecond / $0)
                    }
                }
                result.throughput.append(measured)
            }
        }
        result.referenceLatency = libraries.compactMap { library in reference?.latency(library: library) }
        return result
    }

    func throughput(_ forest: CompiledForest, _ rows: ForestBenchMatrix, batch: Int, threads: Int) -> ForestBenchResult.Throughput {
        let parts = Self.batches(rows, size: batch)
        var sink = 0
        sink &+= forest.predict(rows: parts[0].values, rowCount: parts[0].count, threads: threads).labels[0]
        let perRepeat = secondsPerMeasurement / Double(repeats)
        var rates: [Double] = []
        var next = 0
        for _ in 0..<repeats {
            var done = 0
            let start = Self.now()
            var elapsed = 0.0
            repeat {
                let part = parts[next % parts.count]
                next += 1
                sink &+= forest.predict(rows: part.values, rowCount: part.count, threads: threads).labels[0]
                done += part.count
                elapsed = Self.seconds(since: start)
            } while elapsed < perRepeat
            rates.append(Double(done) / elapsed)
        }
        Self.consume(sink)
        rates.sort()
        return ForestBenchResult.Throughput(
            batch: batch,
            threads: threads,
            rowsPerSecond: rates[rates.count / 2],
            minimum: rates[0],
            maximum: rates[rates.count - 1],
            repeats: repeats
        )
    }

    func latency(_ forest: CompiledForest, _ rows: ForestBenchMatrix) -> ForestBenchResult.Latency {
        let parts = Self.batches(rows, size: 1).map(\.values)
        var sink = 0
        for part in parts.prefix(50) { sink &+= Self.label(forest.predict(row: part)) }
        var samples: [UInt64] = []
        samples.reserveCapacity(1 << 20)
        let deadline = Self.now() + UInt64(latencySeconds * 1e9)
        var next = 0
        while Self.now() < deadline || samples.count < 200 {
            let part = parts[next % parts.count]
            next += 1
            let start = Self.now()
            sink &+= Self.label(forest.predict(row: part))
            samples.append(Self.now() - start)
        }
        Self.consume(sink)
        samples.sort()
        func percentile(_ p: Double) -> Double {
            Double(samples[min(samples.count - 1, Int(p / 100 * Double(samples.count)))]) / 1000
        }
        let mean = Double(samples.reduce(0, +)) / Double(samples.count) / 1000
        return ForestBenchResult.Latency(p50: percentile(50), p99: percentile(99), mean: mean, samples: samples.count)
    }

    /// How many of the first `agreementRows` rows differ from the reference in any bit.
    func agreement(_ forest: CompiledForest, _ rows: ForestBenchMatrix) -> ForestBenchResult.Agreement {
        let count = min(agreementRows, rows.rowCount)
        let batch = forest.predict(rows: rows.rows(0..<count), rowCount: count, threads: 1)
        let reference = ReferenceEvaluator(model: forest.model)
        var mismatches = 0
        for row in 0..<count
        where !Self.sameBits(reference.predict(row: rows.rows(row..<(row + 1))), forest.prediction(batch, at: row)) {
            mismatches += 1
        }
        return ForestBenchResult.Agreement(rowsChecked: count, mismatches: mismatches)
    }

    static func batches(_ rows: ForestBenchMatrix, size: Int) -> [(values: [Double], count: Int)] {
        guard size < rows.rowCount else { return [(rows.values, rows.rowCount)] }
        let count = max(1, min(rows.rowCount / size, 512))
        return (0..<count).map { (rows.rows((($0 * size)..<(($0 + 1) * size))), size) }
    }

    static func sameBits(_ a: ForestPrediction, _ b: ForestPrediction) -> Bool {
        switch (a, b) {
        case (.classification(let la, let pa), .classification(let lb, let pb)):
            la == lb && pa.map(\.bitPattern) == pb.map(\.bitPattern)
        case (.regression(let va), .regression(let vb)):
            va.map(\.bitPattern) == vb.map(\.bitPattern)
        default:
            false
        }
    }

    static func label(_ prediction: ForestPrediction) -> Int {
        switch prediction {
        case .classification(let label, _): label
        case .regression(let values): values.isEmpty ? 0 : Int(values[0].bitPattern & 1)
        }
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    static func seconds(since start: UInt64) -> Double { Double(now() - start) / 1e9 }

    /// Keeps the predictions observable so the optimiser cannot drop the timed calls.
    @inline(never)
    static func consume(_ value: Int) {
        if value == Int.min { print("") }
    }
}
