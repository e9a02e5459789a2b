extension LightGBMLoader {
    /// Converts one `Tree=N` block. LightGBM numbers internal nodes 0..<num_leaves-1 (the root
    /// is 0) and leaves separately; a child entry `c >= 0` is internal node `c`, `c < 0` is
    /// leaf `~c`. The model keeps the internal nodes first, then leaf `j` at
    /// `num_leaves - 1 + j`.
    ///
    /// A categorical node's threshold is the index of its bitset in `cat_boundaries` /
    /// `cat_threshold`; bit `k` of word `w` set means category `32 * w + k` goes left. A NaN
    /// always goes right, and so does a negative value once truncated to an integer.
    static func tree(_ fields: LightGBMFields, featureCount: Int, output: Int) throws(ForestLoadError) -> DecisionTree {
        let leafCount = try fields.integer("num_leaves")
        guard leafCount >= 1 else { throw fields.fail("num_leaves", "num_leaves must be at least 1, got \(leafCount)") }
        if fields.contains("is_linear"), try fields.integer("is_linear") != 0 {
            throw fields.fail("is_linear", "linear trees (linear_tree=true) are not supported")
        }
        let leafValues = try fields.doubles("leaf_value", count: leafCount)
        if let bad = leafValues.firstIndex(where: { !$0.isFinite }) {
            throw fields.fail("leaf_value", "leaf \(bad) has the non-finite value \(leafValues[bad])")
        }
        let leafNodes = leafValues.map { TreeNode.leaf([LeafValue(output: output, value: $0)]) }
        guard leafCount > 1 else { return DecisionTree(nodes: leafNodes) }

        let splitCount = leafCount - 1
        let features = try fields.integers("split_feature", count: splitCount)
        let thresholds = try fields.doubles("threshold", count: splitCount)
        let decisions = try fields.integers("decision_type", count: splitCount)
        let left = try fields.integers("left_child", count: splitCount)
        let right = try fields.integers("right_child", count: splitCount)
        try checkShape(fields, left: left, right: right, leafCount: leafCount)
        let bitsets = try categoryBitsets(fields)

        func position(_ child: Int) -> Int { child >= 0 ? child : splitCount + ~child }
        var nodes: [TreeNode] = []
        nodes.reserveCapacity(splitCount + leafCount)
        for node in 0..<splitCount {
            guard let decision = LightGBMDecision(decisions[node]) else {
                throw fields.fail(
                    "decision_type",
                    "node \(node) has decision type \(decisions[node]), not one LightGBM writes"
                )
            }
            let feature = features[node]
            guard feature >= 0, feature < featureCount else {
                throw fields.fail(
                    "split_feature",
                    "node \(node) splits on feature \(feature), the model has \(featureCount)"
                )
            }
            let threshold = thresholds[node]
            guard !threshold.isNaN else { throw fields.fail("threshold", "node \(node) has a NaN threshold") }
            if decision.isCategorical {
                guard let index = Int(exactly: threshold), bitsets.indices.contains(index) else {
                    throw fields.fail(
                        "threshold",
                        "categorical node \(node) names bitset \(threshold), the tree has \(bitsets.count)"
                    )
                }
                nodes.append(
                    .categorical(
                        CategoricalSplit(
                            feature: feature,
                            categories: bitsets[index],
                            nanGoesMember: false,
                            whenMember: position(left[node]),
                            whenOther: position(right[node])
                        )
                    )
                )
            } else {
                nodes.append(
                    .split(
                        decision.numericSplit(
                            feature: feature,
                            threshold: threshold,
                            left: position(left[node]),
                            right: position(right[node])
                        )
                    )
                )
            }
        }
        return DecisionTree(nodes: nodes + leafNodes)
    }

    /// Every child in range and every node and leaf reached exactly once from the root, so
    /// that a malformed tree is named here rather than found by a walk.
    private static func checkShape(
        _ fields: LightGBMFields,
        left: [Int],
        right: [Int],
        leafCount: Int
    ) throws(ForestLoadError) {
        let splitCount = left.count
        var reachedNode = [Bool](repeating: false, count: splitCount)
        var reachedLeaf = [Bool](repeating: false, count: leafCount)
        reachedNode[0] = true
        var stack = [0]
        while let node = stack.popLast() {
            for (key, child) in [("left_child" as Substring, left[node]), ("right_child", right[node])] {
                if child >= 0 {
                    guard child < splitCount else {
                        throw fields.fail(key, "node \(node) points to node \(child), the tree has \(splitCount)")
                    }
                    guard !reachedNode[child] else {
                        throw fields.fail(key, "node \(node) points to node \(child) again (a cycle or a shared child)")
                    }
                    reachedNode[child] = true
                    stack.append(child)
                } else {
                    let leaf = ~child
                    guard leaf < leafCount else {
                        throw fields.fail(key, "node \(node) points to leaf \(leaf), the tree has \(leafCount)")
                    }
                    guard !reachedLeaf[leaf] else {
                        throw fields.fail(key, "node \(node) points to leaf \(leaf), already reached from another node")
                    }
                    reachedLeaf[leaf] = true
                }
            }
        }
        // A binary tree with one more leaf than splits reaches them all once it has no repeats.
        if let node = reachedNode.firstIndex(of: false) {
            throw fields.fail("left_child", "node \(node) is not reachable from the root")
        }
    }

    /// The member sets of the tree's `num_cat` category bitsets.
    private static func categoryBitsets(_ fields: LightGBMFields) throws(ForestLoadError) -> [Set<Int>] {
        let count = try fields.integer("num_cat")
        guard count >= 0 else { throw fields.fail("num_cat", "num_cat must not be negative, got \(count)") }
        guard count > 0 else { return [] }
        let boundaries = try fields.integers("cat_boundaries", count: count + 1)
        let words = try fields.elements("cat_threshold", count: nil, expecting: "a 32-bit word") { UInt32($0) }
        guard boundaries.first == 0, boundaries.last == words.count,
            zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 <= $1 })
        else {
            throw fields.fail(
                "cat_boundaries",
                "boundaries must rise from 0 to the \(words.count) words of cat_threshold"
            )
        }
        return (0..<count).map { index in
            var members = Set<Int>()
            for word in boundaries[index]..<boundaries[index + 1] {
                var bits = words[word]
                while bits != 0 {
                    members.insert(32 * (word - boundaries[index]) + bits.trailingZeroBitCount)
                    bits &= bits - 1
                }
            }
            return members
        }
    }
}
