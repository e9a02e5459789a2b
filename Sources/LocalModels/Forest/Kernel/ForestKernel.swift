/// Evaluates rows in blocks of up to `rowsPerBlock`: each tree in turn walks every lane
/// block of the block, so the tree's nodes and leaves are fetched once per block and then
/// come from cache, and each row's sums still receive their trees in model order.
///
/// Fewer than `laneCount` rows (a small batch, or a block's last rows) fill the lanes with
/// several trees at once instead (`ForestKernel+FewRows.swift`).
///
/// Built once per `CompiledForest`, so a call copies nothing: a single row costs its walk.
final class ForestKernel<Threshold: FastNumber, Score: FastNumber>: Sendable {
    let table: NodeTable<Threshold, Score>
    let model: ForestModel
    let reference: ReferenceEvaluator
    let plans: [TreePlan]
    let features: Int
    let outputs: Int
    let width: Int

    /// How each tree is evaluated, in model order (what tests inspect).
    var trees: [TreePlan] { plans }

    /// Rows whose inputs and sums stay in cache while every tree walks them: 512 rows of
    /// 32 float features are 64 KiB, well inside a core's L2 next to a few trees.
    static var rowsPerBlock: Int { 512 }

    init(model: ForestModel, heapDepthLimit: Int) {
        table = NodeTable(model: model, heapDepthLimit: heapDepthLimit)
        self.model = model
        reference = ReferenceEvaluator(model: model)
        plans = table.trees
        features = model.featureCount
        outputs = model.outputCount
        width = model.head.answerWidth(outputCount: model.outputCount)
    }

    /// Scratch space for blocks of up to `rows` rows, on the stack when small.
    func withScratch<Result>(rows: Int, _ body: (Scratch) -> Result) -> Result {
        let rows = min(rows, Self.rowsPerBlock)
        let lanes = rows == 1 ? 1 : (rows + laneCount - 1) / laneCount * laneCount
        func line(_ bytes: Int) -> Int { (bytes + 63) / 64 * 64 }
        let block = line(lanes * 2 * features * MemoryLayout<Threshold>.stride)
        let sums = line(max(lanes, rows) * outputs * MemoryLayout<Score>.stride)
        let finished = line(outputs * 8)
        let cursor = line(2 * laneCount * 4)
        // Rows that do not fill a lane block may keep every tree's leaf until all are added.
        let leaves = table.walksInModelOrder ? 0 : line(plans.count * min(rows, laneCount - 1) * 4)
        let bytes = block + sums + finished + cursor + leaves
        // The stack takes up to 1 KiB at 16-byte alignment; more goes to the heap anyway,
        // where lane blocks may as well start on cache lines.
        return withUnsafeTemporaryAllocation(byteCount: bytes, alignment: bytes <= 1024 ? 16 : 64) { raw in
            let base = raw.baseAddress!
            return body(
                Scratch(
                    block: base.bindMemory(to: Threshold.self, capacity: block / MemoryLayout<Threshold>.stride),
                    sums: (base + block).bindMemory(to: Score.self, capacity: sums / MemoryLayout<Score>.stride),
                    finished: (base + block + sums).bindMemory(to: Double.self, capacity: outputs),
                    cursor: (base + block + sums + finished).bindMemory(to: Int32.self, capacity: 2 * laneCount),
                    leaves: (base + block + sums + finished + cursor).bindMemory(to: Int32.self, capacity: leaves / 4)
                )
            )
        }
    }

    struct Scratch {
        let block: UnsafeMutablePointer<Threshold>
        let sums: UnsafeMutablePointer<Score>
        let finished: UnsafeMutablePointer<Double>
        /// Each lane's node, then (for heap groups) each lane's root.
        let cursor: UnsafeMutablePointer<Int32>
        /// `walkFewRows`: the leaf each row reached in each tree, tree-major.
        let leaves: UnsafeMutablePointer<Int32>
    }

    /// Evaluates `count` rows (at most `rowsPerBlock`) starting at row `first` of `input`
    /// and writes their answers to the same rows of `output`.
    @inline(__always)
    func evaluate(_ input: UnsafePointer<Double>, first: Int, count: Int, into output: BatchOutput, _ scratch: Scratch)
    {
        let full = count / laneCount
        let tail = count - full * laneCount
        for laneBlock in 0..<full {
            let rows = input + (first + laneBlock * laneCount) * features
            fill(scratch.block + laneBlock * laneBlockSize, from: rows, rows: laneCount, slots: laneCount)
        }
        startSums(scratch.sums, rows: count)
        if full > 0 {
            walkOneTreeAtATime(input + first * features, laneBlocks: full, scratch)
        }
        if tail > 0 {
            let offset = full * laneCount
            walkFewRows(
                input + (first + offset) * features,
                rows: tail,
                block: scratch.block + full * laneBlockSize,
                sums: scratch.sums + offset * outputs,
                scratch
            )
        }
        finish(scratch, first: first, count: count, into: output)
    }

    /// Values in one lane block: each feature's column, then the negated ones.
    var laneBlockSize: Int { 2 * features * laneCount }

    /// Copies `rows` rows into the first `slots` slots of a lane block's columns, converted
    /// to the threshold type as the reference converts each value before comparing; slots
    /// past `rows` repeat them.
    @inline(__always)
    func fill(_ block: UnsafeMutablePointer<Threshold>, from rows: UnsafePointer<Double>, rows count: Int, slots: Int) {
        let negated = block + features * laneCount
        for slot in 0..<slots {
            let row = rows + (slot < count ? slot : slot % count) * features
            for feature in 0..<features {
                let x = Threshold(row[feature])
                block[feature &* laneCount &+ slot] = x
                negated[feature &* laneCount &+ slot] = -x
            }
        }
    }

    func startSums(_ sums: UnsafeMutablePointer<Score>, rows: Int) {
        sums.initialize(repeating: 0, count: rows * outputs)
        guard model.baseTiming == .beforeTrees else { return }
        for (output, base) in model.baseScores.enumerated() {
            for row in 0..<rows { sums[row * outputs + output] = Score(base) }
        }
    }

    @inline(__always)
    func walkOneTreeAtATime(_ input: UnsafePointer<Double>, laneBlocks: Int, _ scratch: Scratch) {
        let slotBytes = MemoryLayout<Threshold>.stride
        for tree in plans.indices {
            let plan = plans[tree]
            guard plan.isCompiled else {
                for row in 0..<(laneBlocks * laneCount) {
                    addReference(tree: tree, row: input + row * features, sums: scratch.sums + row * outputs)
                }
                continue
            }
            for laneBlock in 0..<laneBlocks {
                let block = UnsafeRawPointer(scratch.block + laneBlock * laneBlockSize)
                if plan.shape == .heap {
                    table.walkHeap(
                        root: plan.root,
                        block: block,
                        cursor: scratch.cursor,
                        depth: plan.depth,
                        lanes: laneCount,
                        slotBytes: slotBytes
                    )
                } else {
                    // Of 32 rows one nearly always goes to the deepest leaves, so watching for an
                    // early finish (as `walkFewRows` does) costs more than it saves here.
                    scratch.cursor.update(repeating: plan.root, count: laneCount)
                    table.walk(
                        block: block,
                        cursor: scratch.cursor,
                        depth: plan.depth,
                        settle: .max,
                        lanes: laneCount,
                        slotBytes: slotBytes
                    )
                }
                let sums = scratch.sums + laneBlock * laneCount * outputs
                table.addLeaves(plan, cursor: scratch.cursor, lanes: laneCount, to: sums)
            }
        }
    }

    func addReference(tree: Int, row: UnsafePointer<Double>, sums: UnsafeMutablePointer<Score>) {
        for value in reference.leaf(of: model.trees[tree], row: UnsafeBufferPointer(start: row, count: features)) {
            sums[value.output] += Score(value.value)
        }
    }

    func finish(_ scratch: Scratch, first: Int, count: Int, into output: BatchOutput) {
        let averaging = model.aggregation == .average
        let treeCount = Score(plans.count)
        let baseAfter = model.baseTiming == .afterTrees ? model.baseScores : []
        let head = model.head
        let finished = UnsafeMutableBufferPointer(start: scratch.finished, count: outputs)
        for row in 0..<count {
            let sums = scratch.sums + row * outputs
            for o in 0..<outputs {
                var sum = sums[o]
                if averaging { sum /= treeCount }
                if o < baseAfter.count { sum += Score(baseAfter[o]) }
                finished[o] = Double(sum)
            }
            output.write(row: first + row, head: head, scores: finished, width: width)
        }
    }
}
