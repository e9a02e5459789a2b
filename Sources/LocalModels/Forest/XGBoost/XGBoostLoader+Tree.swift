extension XGBoostLoader {
    /// Where one tree's leaves go and how much they weigh.
    struct TreeContext {
        var featureCount: Int
        var outputCount: Int
        /// The output a single-target tree feeds (`tree_info`).
        var output: Int
        /// DART's `weight_drop` for this tree; 1 for gbtree.
        var weight: Float
    }

    /// Converts one tree of `trees[]`, keeping only the nodes reachable from the root (pruned
    /// nodes stay in XGBoost's arrays) and numbering them in breadth-first order.
    ///
    /// XGBoost's predictor: a NaN takes the default child; a categorical split sends the
    /// categories listed for the node right and everything else left, including any negative
    /// `float(x)` (so -0.5 is no category) and anything from 2^24 up; a numeric split goes
    /// left iff `float(x) < split_condition`. A leaf's value is its `split_conditions` entry,
    /// a multi-target leaf's values a row of `leaf_weights`.
    static func tree(_ field: XGBoostField, context: TreeContext) throws(ForestLoadError) -> DecisionTree {
        let left = try field.member("left_children").integers()
        let right = try field.member("right_children").integers()
        let features = try field.member("split_indices").integers()
        let conditions = try field.member("split_conditions").floats()
        let defaultLeft = try field.member("default_left").flags()
        let splitTypes = try field.optionalMember("split_type")?.integers()
        let nodeCount = left.count
        if let declared = try field.optionalMember("tree_param")?.optionalMember("num_nodes")?.integer(),
            declared != nodeCount
        {
            throw try field.member("left_children").fail("\(nodeCount) nodes, tree_param.num_nodes says \(declared)")
        }
        guard nodeCount > 0 else { throw try field.member("left_children").fail("the tree has no nodes") }
        for (key, count) in [
            ("right_children", right.count), ("split_indices", features.count),
            ("split_conditions", conditions.count), ("default_left", defaultLeft.count),
            ("split_type", splitTypes?.count ?? nodeCount),
        ] where count != nodeCount {
            throw try field.member(key).fail("\(count) entries for the tree's \(nodeCount) nodes")
        }
        let leafWidth = try leafVectorSize(field)
        guard leafWidth == 1 || leafWidth == context.outputCount else {
            throw try field.member("tree_param").fail(
                "size_leaf_vector \(leafWidth) does not match the model's \(context.outputCount) targets"
            )
        }

        let order = try reachableNodes(field, left: left, right: right)
        var newIndex = [Int](repeating: -1, count: nodeCount)
        for (position, node) in order.enumerated() { newIndex[node] = position }
        let categories = try categorySets(field, splitTypes: splitTypes, nodeCount: nodeCount)
        let leafWeights = leafWidth > 1 ? try multiTargetLeafWeights(field) : []

        var nodes: [TreeNode] = []
        nodes.reserveCapacity(order.count)
        for node in order {
            if left[node] == -1 {
                if leafWidth == 1 {
                    nodes.append(.leaf([LeafValue(output: context.output, value: weighted(conditions[node], context))]))
                } else {
                    let row = right[node]
                    guard row >= 0, row < leafWeights.count / leafWidth else {
                        throw try field.member("right_children").fail(
                            "leaf \(node) points to leaf_weights row \(row), "
                                + "outside the \(leafWeights.count / leafWidth) rows"
                        )
                    }
                    nodes.append(
                        .leaf(
                            (0..<leafWidth).map { target in
                                LeafValue(
                                    output: target,
                                    value: weighted(leafWeights[row * leafWidth + target], context)
                                )
                            }
                        )
                    )
                }
                continue
            }
            let feature = features[node]
            guard feature >= 0, feature < context.featureCount else {
                throw try field.member("split_indices").fail(
                    "node \(node) splits on feature \(feature), the model has \(context.featureCount)"
                )
            }
            if let members = categories[node] {
                nodes.append(
                    .categorical(
                        CategoricalSplit(
                            feature: feature,
                            categories: members,
                            nanGoesMember: !defaultLeft[node],
                            negativeIsOther: true,
                            whenMember: newIndex[right[node]],
                            whenOther: newIndex[left[node]]
                        )
                    )
                )
            } else {
                nodes.append(
                    .split(
                        NumericSplit(
                            feature: feature,
                            threshold: Double(conditions[node]),
                            rule: .less,
                            nanGoesTrue: defaultLeft[node],
                            whenTrue: newIndex[left[node]],
                            whenFalse: newIndex[right[node]]
                        )
                    )
                )
            }
        }
        return DecisionTree(nodes: nodes)
    }

    /// DART scales each tree's output by its weight in float32, as `Dart::PredictBatch` does
    /// (gbtree's weight 1 changes nothing).
    private static func weighted(_ value: Float, _ context: TreeContext) -> Double {
        Double(value * context.weight)
    }

    /// The nodes reachable from the root, root first; a child outside the tree or reached a
    /// second time (a cycle or a shared subtree) is an error.
    private static func reachableNodes(
        _ field: XGBoostField,
        left: [Int],
        right: [Int]
    ) throws(ForestLoadError) -> [Int] {
        var reached = [Bool](repeating: false, count: left.count)
        reached[0] = true
        var order = [0]
        var next = 0
        while next < order.count {
            let node = order[next]
            next += 1
            guard left[node] != -1 else { continue }
            for (key, child) in [("left_children", left[node]), ("right_children", right[node])] {
                guard child >= 0, child < left.count else {
                    throw try field.member(key).fail(
                        "node \(node) points to child \(child), outside the tree's \(left.count) nodes"
                    )
                }
                guard !reached[child] else {
                    throw try field.member(key).fail(
                        "node \(node) points to node \(child), which is already in the tree (a cycle or a shared child)"
                    )
                }
                reached[child] = true
                order.append(child)
            }
        }
        return order
    }

    /// The category sets of the tree's categorical nodes: node `categories_nodes[i]` sends the
    /// `categories_sizes[i]` categories from `categories[categories_segments[i]...]` right.
    private static func categorySets(
        _ field: XGBoostField,
        splitTypes: [Int]?,
        nodeCount: Int
    ) throws(ForestLoadError) -> [Int: Set<Int>] {
        guard let splitTypes, splitTypes.contains(where: { $0 != 0 }) else { return [:] }
        let splitType = try field.member("split_type")
        if let node = splitTypes.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            throw splitType.fail(
                "node \(node) has split type \(splitTypes[node]); 0 (numerical) or 1 (categorical) expected"
            )
        }
        let categories = try field.member("categories").integers()
        let nodes = try field.member("categories_nodes").integers()
        let segments = try field.member("categories_segments").integers()
        let sizes = try field.member("categories_sizes").integers()
        guard segments.count == nodes.count, sizes.count == nodes.count else {
            throw try field.member("categories_nodes").fail(
                "\(nodes.count) nodes, \(segments.count) segments and \(sizes.count) sizes; they must match"
            )
        }
        var sets: [Int: Set<Int>] = [:]
        for (entry, node) in nodes.enumerated() {
            guard node >= 0, node < nodeCount, splitTypes[node] == 1 else {
                throw try field.member("categories_nodes").fail(
                    "entry \(entry) names node \(node), not a categorical split"
                )
            }
            let start = segments[entry]
            let size = sizes[entry]
            guard start >= 0, size >= 0, start <= categories.count - size else {
                throw try field.member("categories_segments").fail(
                    "node \(node)'s categories \(start)..<\(start + size) are outside the \(categories.count) listed"
                )
            }
            let members = categories[start..<start + size]
            if let bad = members.first(where: { $0 < 0 || $0 >= largestCategory }) {
                throw try field.member("categories").fail(
                    "node \(node) lists the category \(bad), outside XGBoost's 0..<\(largestCategory)"
                )
            }
            sets[node] = Set(members)
        }
        if let node = splitTypes.indices.first(where: { splitTypes[$0] == 1 && sets[$0] == nil }) {
            throw try field.member("categories_nodes").fail("categorical node \(node) has no categories")
        }
        return sets
    }

    /// XGBoost treats a category of 2^24 or more as invalid (a float cannot count past it).
    private static let largestCategory = 1 << 24

    private static func leafVectorSize(_ field: XGBoostField) throws(ForestLoadError) -> Int {
        guard let size = try field.optionalMember("tree_param")?.optionalMember("size_leaf_vector")?.integer() else {
            return 1
        }
        // XGBoost 1.x writes 0 for ordinary single-value leaves.
        guard size >= 0 else { throw try field.member("tree_param").fail("size_leaf_vector \(size) is negative") }
        return max(size, 1)
    }

    /// Multi-target trees (`multi_strategy: multi_output_tree`) as XGBoost 3 writes them:
    /// a leaf's `right_children` entry is its row in `leaf_weights`.
    private static func multiTargetLeafWeights(_ field: XGBoostField) throws(ForestLoadError) -> [Float] {
        guard let weights = field.optionalMember("leaf_weights") else {
            throw try field.member("tree_param").fail(
                "multi-target trees without leaf_weights (as XGBoost 2.x wrote them) are not supported"
            )
        }
        return try weights.floats()
    }
}
