/// Lays trees out for `NodeTable`: each tree breadth first (the levels every row visits sit
/// together at the front), every split normalised to `x <= t`, each leaf's payload in the
/// most compact form its tree allows.
struct NodeTableBuilder<Threshold: FastNumber, Score: FastNumber> {
    let outputs: Int
    let features: Int
    var nodes: [FastNode<Threshold>] = []
    var heapNodes: [HeapNode<Threshold>] = []
    var values: [Score] = []
    var entries: [LeafEntry<Score>] = []

    /// Trees deeper than this are linked: a complete tree doubles with every level.
    let heapDepthLimit: Int

    init(outputs: Int, features: Int, heapDepthLimit: Int) {
        self.outputs = outputs
        self.features = features
        self.heapDepthLimit = heapDepthLimit
    }

    static var nodeStride: Int { MemoryLayout<FastNode<Threshold>>.stride }

    /// Where column `column` starts in a lane block; columns `features...` hold the
    /// negated values.
    static func columnBytes(_ column: Int, of features: Int) -> Int {
        column * laneCount * MemoryLayout<Threshold>.stride
    }

    /// Appends the tree's nodes and returns how to evaluate it; trees the compiled form
    /// cannot express append nothing.
    mutating func add(_ tree: DecisionTree) -> TreePlan {
        guard let (order, depth, meanLeafDepth) = Self.breadthFirst(tree),
            Self.columnBytes(2 * features, of: features) <= Int(UInt32.max)
        else { return .reference }
        let layout = leafLayout(tree)
        if layout != .entries, depth <= heapDepthLimit, 1 << depth <= max(1024, 4 * order.count),
            let plan = addHeap(tree, depth: depth, layout: layout)
        {
            return plan
        }
        guard var plan = addLinked(tree, depth: depth, layout: layout) else { return .reference }
        plan.settle = meanLeafDepth
        return plan
    }

    /// Lays the tree out breadth first with each split's children side by side, left
    /// (as normalised) first; a split that sends everything one way gets two copies of
    /// that child's subtree.
    mutating func addLinked(_ tree: DecisionTree, depth: Int, layout: LeafLayout) -> TreePlan? {
        let stride = Self.nodeStride
        let first = nodes.count
        var queue = [0]
        var compiled: [FastNode<Threshold>] = []
        while compiled.count < queue.count {
            let slot = first + compiled.count
            switch tree.nodes[queue[compiled.count]] {
            case .split(let split):
                guard let normal = Self.normalise(split) else { return nil }
                let child = first + queue.count
                queue.append(normal.left)
                queue.append(normal.right)
                compiled.append(
                    FastNode(
                        threshold: normal.threshold,
                        column: column(split.feature, negated: normal.negated),
                        left: Int32(truncatingIfNeeded: child * stride)
                    )
                )
            case .leaf(let leaf):
                let payload = appendPayload(leaf, layout)
                guard payload < Threshold.payloadLimit else { return nil }
                compiled.append(
                    FastNode(
                        threshold: Threshold(payloadIndex: payload),
                        column: 0,
                        left: Int32(truncatingIfNeeded: (slot - 1) * stride)
                    )
                )
            case .categorical:
                return nil
            }
            guard (first + queue.count) * stride < Int(Int32.max) else { return nil }
        }
        nodes += compiled
        return TreePlan(shape: .linked, root: Int32(first * stride), depth: depth, leaves: layout)
    }

    /// Lays the tree out complete to `depth` levels. A leaf above the last level becomes a
    /// split whose two subtrees are copies of it, so whichever way a row goes, NaN
    /// included, it reaches the same payload.
    mutating func addHeap(_ tree: DecisionTree, depth: Int, layout: LeafLayout) -> TreePlan? {
        let splits = (1 << depth) - 1
        guard (heapNodes.count + splits) * MemoryLayout<HeapNode<Threshold>>.stride < Int(Int32.max) else { return nil }
        var heap = [HeapNode<Threshold>](repeating: HeapNode(threshold: .infinity, column: 0), count: splits)
        var leaves = [Int](repeating: 0, count: 1 << depth)
        var expressible = true
        func place(_ index: Int, at slot: Int) {
            guard slot < splits else {
                leaves[slot - splits] = index
                return
            }
            switch tree.nodes[index] {
            case .split(let split):
                guard let normal = Self.normalise(split) else {
                    expressible = false
                    return
                }
                heap[slot] = HeapNode(
                    threshold: normal.threshold,
                    column: column(split.feature, negated: normal.negated)
                )
                place(normal.left, at: 2 * slot + 1)
                place(normal.right, at: 2 * slot + 2)
            case .leaf, .categorical:
                place(index, at: 2 * slot + 1)
                place(index, at: 2 * slot + 2)
            }
        }
        place(0, at: 0)
        guard expressible else { return nil }
        let payload = values.count
        for index in leaves {
            guard case .leaf(let leaf) = tree.nodes[index] else { return nil }
            _ = appendPayload(leaf, layout)
        }
        let root = Int32(heapNodes.count * MemoryLayout<HeapNode<Threshold>>.stride)
        heapNodes += heap
        return TreePlan(shape: .heap, root: root, depth: depth, leaves: layout, payload: payload)
    }

    func column(_ feature: Int, negated: Bool) -> UInt32 {
        UInt32(Self.columnBytes(negated ? features + feature : feature, of: features))
    }

    /// Dense when no leaf names an output twice (each output's sum then sees the same adds
    /// in the same order); single when every leaf adds exactly one value to the same output.
    func leafLayout(_ tree: DecisionTree) -> LeafLayout {
        var single: Int?
        var isSingle = true
        var isDense = true
        for case .leaf(let leaf) in tree.nodes {
            if leaf.count == 1, single == nil || single == leaf[0].output {
                single = leaf[0].output
            } else {
                isSingle = false
            }
            var seen = Set<Int>()
            for value in leaf where !seen.insert(value.output).inserted { isDense = false }
        }
        if isSingle, let output = single { return .single(output: output) }
        return isDense ? .dense : .entries
    }

    /// Stores a leaf's payload and returns the index its node keeps.
    mutating func appendPayload(_ leaf: [LeafValue], _ layout: LeafLayout) -> Int {
        switch layout {
        case .single:
            values.append(Score(leaf[0].value))
            return values.count - 1
        case .dense:
            let first = values.count
            values += repeatElement(-0.0, count: outputs)
            for value in leaf { values[first + value.output] = Score(value.value) }
            return first
        case .entries:
            let first = entries.count
            entries.append(LeafEntry(output: Int32(leaf.count), value: 0))
            for value in leaf { entries.append(LeafEntry(output: Int32(value.output), value: Score(value.value))) }
            return first
        }
    }

    /// Node indices breadth first, the depth of the deepest leaf and the leaves' mean depth
    /// (rounded down), or nil when the tree has splits the compiled form does not handle.
    static func breadthFirst(_ tree: DecisionTree) -> (order: [Int], depth: Int, meanLeafDepth: Int)? {
        var order = [0]
        var level = [0]
        var head = 0
        var depth = 0
        var leafDepths = 0
        var leaves = 0
        while head < order.count {
            let index = order[head]
            switch tree.nodes[index] {
            case .leaf:
                depth = max(depth, level[head])
                leafDepths += level[head]
                leaves += 1
            case .categorical:
                return nil
            case .split(let split):
                order.append(split.whenTrue)
                order.append(split.whenFalse)
                level.append(level[head] + 1)
                level.append(level[head] + 1)
            }
            head += 1
        }
        return (order, depth, leafDepths / leaves)
    }

    /// Rewrites a split as "left when `x <= t`, NaN right" on either `x` or `-x`.
    ///
    /// First `<` becomes `<=` the next value down and `>`/`>=` swap the children. A split
    /// that must send NaN left (`x <= t` left, NaN left) is then turned around: right when
    /// `x > t`, that is `-x <= -nextUp(t)`, so NaN, failing the comparison, lands on the
    /// other side, which is now left. The threshold is converted to the kernel's type first,
    /// as `ReferenceEvaluator` does before comparing.
    static func normalise(_ split: NumericSplit) -> (threshold: Threshold, negated: Bool, left: Int, right: Int)? {
        guard !split.zeroIsMissing else { return nil }
        let threshold = Threshold(split.threshold)
        // A NaN threshold fails every comparison, so swapping children would be wrong.
        guard !threshold.isNaN else { return nil }
        let nanChild = split.nanGoesTrue ? split.whenTrue : split.whenFalse
        let (below, left, right): (Threshold, Int, Int)
        switch split.rule {
        case .lessOrEqual:
            (below, left, right) = (threshold, split.whenTrue, split.whenFalse)
        case .less:
            // Nothing is below -infinity: every number goes false, NaN where it says.
            guard threshold > -.infinity else { return (.infinity, false, split.whenFalse, nanChild) }
            (below, left, right) = (threshold.nextDown, split.whenTrue, split.whenFalse)
        case .greater:
            (below, left, right) = (threshold, split.whenFalse, split.whenTrue)
        case .greaterOrEqual:
            guard threshold > -.infinity else { return (.infinity, false, split.whenTrue, nanChild) }
            (below, left, right) = (threshold.nextDown, split.whenFalse, split.whenTrue)
        case .equal, .notEqual:
            return nil
        }
        guard nanChild == left else { return (below, false, left, right) }
        // Everything, NaN included, goes left; both children the same says so.
        guard below < .infinity else { return (below, false, left, left) }
        return (-below.nextUp, true, right, left)
    }
}
