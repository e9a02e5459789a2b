extension ONNXForestLoader {
    private static let treeEnsembleAttributes: Set<String> = [
        "aggregate_function", "leaf_targetids", "leaf_weights", "membership_values", "n_targets", "nodes_falseleafs",
        "nodes_falsenodeids", "nodes_featureids", "nodes_hitrates", "nodes_missing_value_tracks_true", "nodes_modes",
        "nodes_splits", "nodes_trueleafs", "nodes_truenodeids", "post_transform", "tree_roots",
    ]

    /// TreeEnsemble (ai.onnx.ml 5): interior nodes and leaves in separate lists, children
    /// flagged as leaf or node, trees named by their roots.
    static func readTreeEnsemble(_ attributes: NodeAttributes, type: ONNXElementType) throws(ForestLoadError) -> ONNXEnsemble {
        try attributes.check(known: treeEnsembleAttributes, operatorName: "TreeEnsemble")
        guard let modes = try attributes.integerTensor("nodes_modes", dataType: ONNXProto.DataType.uint8), !modes.isEmpty
        else { throw attributes.fail("nodes_modes", "is missing or empty: the ensemble has no nodes") }
        let count = modes.count
        func list(_ name: String) throws(ForestLoadError) -> [Int64] {
            try attributes.nodeInts(name, count: count, like: "nodes_modes")
        }
        let featureIDs = try list("nodes_featureids")
        let trueIDs = try list("nodes_truenodeids")
        let trueLeafs = try list("nodes_trueleafs")
        let falseIDs = try list("nodes_falsenodeids")
        let falseLeafs = try list("nodes_falseleafs")
        let splits = try attributes.floatingTensor("nodes_splits", type: type) ?? []
        try attributes.expect("nodes_splits", splits.count, count: count, like: "nodes_modes")
        let missingTrue = try attributes.ints("nodes_missing_value_tracks_true")
        try attributes.expect("nodes_missing_value_tracks_true", missingTrue.count, count: count, like: "nodes_modes", optional: true)
        let hitRates = try attributes.floatingTensor("nodes_hitrates", type: type) ?? []
        try attributes.expect("nodes_hitrates", hitRates.count, count: count, like: "nodes_modes", optional: true)

        let targets = try attributes.ints("leaf_targetids")
        guard !targets.isEmpty else { throw attributes.fail("leaf_targetids", "is empty: the ensemble has no leaves") }
        let weights = try attributes.floatingTensor("leaf_weights", type: type) ?? []
        try attributes.expect("leaf_weights", weights.count, count: targets.count, like: "leaf_targetids")
        let targetCount = try attributes.int("n_targets") ?? 0
        guard targetCount > 0, targetCount <= 1 << 20 else {
            throw attributes.fail("n_targets", "is \(targetCount), expected 1 to 2^20")
        }
        let roots = try attributes.ints("tree_roots")
        guard !roots.isEmpty else { throw attributes.fail("tree_roots", "is empty: the ensemble has no trees") }
        let sets = try membershipSets(attributes, modes: modes, type: type)

        var ensemble = ONNXEnsemble(
            op: .treeEnsemble, elementType: type, nodes: EnsembleNodes(), outputCount: Int(targetCount), baseValues: [],
            aggregation: try treeEnsembleAggregation(attributes), transform: try treeEnsembleTransform(attributes))
        var nodes = EnsembleNodes()
        for position in 0..<count {
            let origin = "nodes_*[\(position)]"
            let kind: EnsembleNodes.Kind
            switch modes[position] {
            case 0: kind = .split(.lessOrEqual)
            case 1: kind = .split(.less)
            case 2: kind = .split(.greaterOrEqual)
            case 3: kind = .split(.greater)
            case 4: kind = .split(.equal)
            case 5: kind = .split(.notEqual)
            case 6: kind = .member(sets[position] ?? [])
            case let mode: throw attributes.fail("nodes_modes", index: position, "unknown mode \(mode)")
            }
            var node = EnsembleNodes.Node(kind: kind, origin: origin)
            let feature = featureIDs[position]
            guard feature >= 0, feature < ONNXGraphPlan.featureLimit else {
                throw attributes.fail("nodes_featureids", index: position, "feature \(feature) is out of range")
            }
            node.feature = Int(feature)
            guard modes[position] == 6 || !splits[position].isNaN else {
                throw attributes.fail("nodes_splits", index: position, "the threshold of a split is NaN")
            }
            node.threshold = splits[position]
            node.nanGoesTrue = modes[position] == 5 || (!missingTrue.isEmpty && missingTrue[position] == 1)
            func child(_ name: String, _ id: Int64, leaf: Bool) throws(ForestLoadError) -> Int {
                let bound = leaf ? targets.count : count
                guard id >= 0, id < Int64(bound) else {
                    throw attributes.fail(name, index: position, "\(id) is not one of the \(bound) \(leaf ? "leaves" : "nodes")")
                }
                return leaf ? count + Int(id) : Int(id)
            }
            node.whenTrue = try child("nodes_truenodeids", trueIDs[position], leaf: trueLeafs[position] != 0)
            node.whenFalse = try child("nodes_falsenodeids", falseIDs[position], leaf: falseLeafs[position] != 0)
            nodes.nodes.append(node)
        }
        for (leaf, target) in targets.enumerated() {
            guard target >= 0, target < targetCount else {
                throw attributes.fail("leaf_targetids", index: leaf, "\(target) is not below n_targets \(targetCount)")
            }
            guard weights[leaf].isFinite else {
                throw attributes.fail("leaf_weights", index: leaf, "\(weights[leaf]) is not a finite weight")
            }
            nodes.nodes.append(
                EnsembleNodes.Node(
                    kind: .leaf, values: [LeafValue(output: Int(target), value: weights[leaf])], origin: "leaf_*[\(leaf)]"))
        }
        for (tree, root) in roots.enumerated() {
            guard root >= 0, root < Int64(count) else {
                throw attributes.fail("tree_roots", index: tree, "\(root) is not one of the \(count) nodes")
            }
            let node = nodes.nodes[Int(root)]
            // A one-leaf tree is a node whose branches both name the same leaf.
            let isLeaf = trueLeafs[Int(root)] != 0 && falseLeafs[Int(root)] != 0 && node.whenTrue == node.whenFalse
            nodes.roots.append(isLeaf ? node.whenTrue : Int(root))
        }
        ensemble.featureBound = nodes.featureBound(reachableOnly: true)
        ensemble.nodes = nodes
        return ensemble
    }

    /// `membership_values`: one NaN-terminated run per BRANCH_MEMBER node, in node order.
    /// onnxruntime unrolls a small set into equality tests and looks larger ones up after
    /// truncating the input to an integer, which it allows only for integer members; this
    /// engine's set lookup also needs them non-negative.
    private static func membershipSets(
        _ attributes: NodeAttributes, modes: [Int64], type: ONNXElementType
    ) throws(ForestLoadError) -> [Int: [Double]] {
        let values = try attributes.floatingTensor("membership_values", type: type) ?? []
        var runs: [[Double]] = [[]]
        for value in values {
            if value.isNaN { runs.append([]) } else { runs[runs.count - 1].append(value) }
        }
        if runs.last?.isEmpty == true { runs.removeLast() }
        let members = modes.indices.filter { modes[$0] == 6 }
        guard runs.count == members.count else {
            throw attributes.fail(
                "membership_values", "holds \(runs.count) sets for \(members.count) BRANCH_MEMBER nodes")
        }
        var sets: [Int: [Double]] = [:]
        for (run, position) in zip(runs, members) {
            guard !run.isEmpty else {
                throw attributes.fail("membership_values", "the set of BRANCH_MEMBER node \(position) is empty")
            }
            if !EnsembleNodes.isSmallSet(run) {
                for value in run where value.rounded(.towardZero) != value || value < 0 || value >= Double(Int32.max) {
                    throw attributes.fail(
                        "membership_values",
                        "BRANCH_MEMBER node \(position) has \(run.count) members including \(value); sets that are "
                            + "not unrolled into equality tests must hold integers from 0 to 2^31-2")
                }
            }
            sets[position] = run
        }
        return sets
    }

    /// onnxruntime numbers the transforms in its own enum's order (NONE, LOGISTIC, SOFTMAX,
    /// SOFTMAX_ZERO, PROBIT), not in the order the TreeEnsemble specification lists (which
    /// swaps 1 and 2). onnxruntime is the reference, so 1 is LOGISTIC here as it is there.
    private static func treeEnsembleTransform(_ attributes: NodeAttributes) throws(ForestLoadError) -> ONNXEnsemble.Transform {
        switch try attributes.int("post_transform") ?? 0 {
        case 0: return .none
        case 1: return .logistic
        case 2: return .softmax
        case 3: return .softmaxZero
        case 4: return .probit
        case let value: throw attributes.fail("post_transform", "unknown transform \(value)")
        }
    }

    private static func treeEnsembleAggregation(_ attributes: NodeAttributes) throws(ForestLoadError) -> Aggregation {
        switch try attributes.int("aggregate_function") ?? 1 {
        case 0: return .average
        case 1: return .sum
        case 2, 3: throw attributes.fail("aggregate_function", "MIN and MAX are not supported (SUM and AVERAGE are)")
        case let value: throw attributes.fail("aggregate_function", "unknown aggregate function \(value)")
        }
    }
}
