/// Number types the compiled kernel runs in, for thresholds and for sums.
protocol FastNumber: BinaryFloatingPoint, Sendable {
    init(_ value: Double)
    /// A leaf keeps the index of its first entry in its threshold field.
    init(entryIndex: Int)
    var entryIndex: Int { get }
}

extension Float: FastNumber {
    init(entryIndex: Int) { self.init(bitPattern: UInt32(entryIndex)) }
    var entryIndex: Int { Int(bitPattern) }
}

extension Double: FastNumber {
    init(entryIndex: Int) { self.init(bitPattern: UInt64(entryIndex)) }
    var entryIndex: Int { Int(bitPattern) }
}

/// One value a leaf adds. A leaf's entries are contiguous; the first one holds the count in
/// `output` and no value, so a leaf's whole payload is usually one cache line.
struct LeafEntry<Score: FastNumber> {
    var output: Int32
    var value: Score
}

/// One compiled node. Internal nodes: `row[feature] <= threshold` (or a NaN with
/// `nanLeft`) goes to `left`, anything else to `right`. Leaves: both children are the node
/// itself, so extra steps leave a finished row where it is.
struct FastNode<Threshold: FastNumber> {
    var threshold: Threshold
    /// Feature index in the low 30 bits, `nanLeftBit` above. Leaves read feature 0 and
    /// keep their first entry's index in `threshold`.
    var feature: UInt32
    var left: Int32
    var right: Int32
}

let featureMask: UInt32 = 0x3FFF_FFFF
let nanLeftBit: UInt32 = 1 << 30

/// How one tree is evaluated.
struct TreePlan: Sendable {
    /// False when the tree has splits the compiled form cannot express; it is then walked
    /// by `ReferenceEvaluator`.
    var isCompiled: Bool
    var root: Int32
    /// Steps from the root to the deepest leaf.
    var depth: Int
}

/// The compiled nodes of every tree in one allocation, and the leaves' entries in another.
final class NodeTable<Threshold: FastNumber, Score: FastNumber>: @unchecked Sendable {
    let trees: [TreePlan]
    let nodes: UnsafeMutableBufferPointer<FastNode<Threshold>>
    let entries: UnsafeMutableBufferPointer<LeafEntry<Score>>

    init(model: ForestModel) {
        var plans: [TreePlan] = []
        var nodes: [FastNode<Threshold>] = []
        var entries: [LeafEntry<Score>] = []
        for tree in model.trees {
            guard let compiled = Self.compile(tree) else {
                plans.append(TreePlan(isCompiled: false, root: 0, depth: 0))
                continue
            }
            let offset = Int32(nodes.count)
            plans.append(TreePlan(isCompiled: true, root: offset, depth: compiled.depth))
            for (index, node) in compiled.nodes.enumerated() {
                var node = node
                node.left += offset
                node.right += offset
                if let values = compiled.leaves[index] {
                    node.threshold = Threshold(entryIndex: entries.count)
                    entries.append(LeafEntry(output: Int32(values.count), value: 0))
                    for value in values {
                        entries.append(LeafEntry(output: Int32(value.output), value: Score(value.value)))
                    }
                }
                nodes.append(node)
            }
        }
        self.trees = plans
        self.nodes = Self.copy(nodes)
        self.entries = Self.copy(entries)
    }

    deinit {
        nodes.deallocate()
        entries.deallocate()
    }

    private static func copy<Element>(_ array: [Element]) -> UnsafeMutableBufferPointer<Element> {
        let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: max(array.count, 1))
        _ = buffer.initialize(from: array)
        return buffer
    }

    /// Moves `rows` rows of `block` (row-major, `features` wide) from the roots of the
    /// trees in `group` to their leaves. Lane `g * rows + r` is row `r` in the group's tree
    /// `g`; its leaf node index is left in `cursor`. All lanes step together, so the
    /// memory loads of different rows and trees overlap; a small batch fills its lanes with
    /// several trees.
    @inline(__always)
    func walk(
        group: Range<Int>, block: UnsafePointer<Threshold>, features: Int, rows: Int,
        cursor: UnsafeMutablePointer<Int32>, laneRow: UnsafeMutablePointer<Int>
    ) {
        let nodes = self.nodes.baseAddress!
        var lanes = 0
        var depth = 0
        for tree in group {
            let plan = trees[tree]
            depth = max(depth, plan.depth)
            for r in 0..<rows {
                cursor[lanes] = plan.root
                laneRow[lanes] = r * features
                lanes += 1
            }
        }
        for _ in 0..<depth {
            for lane in 0..<lanes {
                let node = nodes[Int(cursor[lane])]
                let x = block[laneRow[lane] + Int(node.feature & featureMask)]
                let isNaNLeft: UInt32 = x != x ? (node.feature >> 30) & 1 : 0
                let goesLeft: UInt32 = (x <= node.threshold ? 1 : 0) | isNaNLeft
                cursor[lane] = goesLeft != 0 ? node.left : node.right
            }
        }
    }

    /// Adds each lane's leaf entries to its row's sums, tree by tree, in each leaf's order.
    @inline(__always)
    func addLeaves(
        cursor: UnsafeMutablePointer<Int32>, lanes: Int, rows: Int, sums: UnsafeMutablePointer<Score>, outputs: Int
    ) {
        let nodes = self.nodes.baseAddress!
        let entries = self.entries.baseAddress!
        for lane in 0..<lanes {
            let first = nodes[Int(cursor[lane])].threshold.entryIndex
            let count = Int(entries[first].output)
            let rowSums = sums + (lane % rows) * outputs
            for entry in (first + 1)..<(first + 1 + count) {
                rowSums[Int(entries[entry].output)] += entries[entry].value
            }
        }
    }

    /// The tree in breadth-first order with every split normalised to `<=`, or nil when a
    /// split cannot be normalised.
    private static func compile(_ tree: DecisionTree) -> (nodes: [FastNode<Threshold>], leaves: [[LeafValue]?], depth: Int)? {
        var order: [Int] = [0]
        var depthOf: [Int: Int] = [0: 0]
        var head = 0
        while head < order.count {
            let index = order[head]
            head += 1
            switch tree.nodes[index] {
            case .leaf:
                continue
            case .categorical:
                return nil
            case .split(let split):
                for child in [split.whenTrue, split.whenFalse] {
                    depthOf[child] = depthOf[index]! + 1
                    order.append(child)
                }
            }
        }
        var position = [Int: Int32]()
        for (newIndex, oldIndex) in order.enumerated() { position[oldIndex] = Int32(newIndex) }
        var nodes: [FastNode<Threshold>] = []
        var leaves: [[LeafValue]?] = []
        nodes.reserveCapacity(order.count)
        for (newIndex, oldIndex) in order.enumerated() {
            switch tree.nodes[oldIndex] {
            case .leaf(let values):
                let me = Int32(newIndex)
                nodes.append(FastNode(threshold: 0, feature: 0, left: me, right: me))
                leaves.append(values)
            case .split(let split):
                guard let normal = normalise(split) else { return nil }
                let node = FastNode(
                    threshold: normal.threshold,
                    feature: UInt32(split.feature) | (normal.nanLeft ? nanLeftBit : 0),
                    left: position[normal.left]!, right: position[normal.right]!
                )
                nodes.append(node)
                leaves.append(nil)
            case .categorical:
                return nil
            }
        }
        let depth = depthOf.values.max() ?? 0
        return (nodes, leaves, depth)
    }

    /// Rewrites a split as "left when `x <= t`": `<` becomes `<=` the next value down,
    /// `>` and `>=` swap the children. The threshold is converted to the kernel's type first,
    /// as `ReferenceEvaluator` does before comparing.
    private static func normalise(_ split: NumericSplit) -> (threshold: Threshold, nanLeft: Bool, left: Int, right: Int)? {
        guard !split.zeroIsMissing, split.feature <= Int(featureMask) else { return nil }
        let threshold = Threshold(split.threshold)
        switch split.rule {
        case .lessOrEqual:
            return (threshold, split.nanGoesTrue, split.whenTrue, split.whenFalse)
        case .less:
            guard threshold > -.infinity else { return nil }
            return (threshold.nextDown, split.nanGoesTrue, split.whenTrue, split.whenFalse)
        case .greater:
            return (threshold, !split.nanGoesTrue, split.whenFalse, split.whenTrue)
        case .greaterOrEqual:
            guard threshold > -.infinity else { return nil }
            return (threshold.nextDown, !split.nanGoesTrue, split.whenFalse, split.whenTrue)
        case .equal, .notEqual:
            return nil
        }
    }
}
