extension ONNXForestLoader {
    private static let legacyNodeAttributes: Set<String> = [
        "base_values", "nodes_falsenodeids", "nodes_featureids", "nodes_hitrates", "nodes_missing_value_tracks_true",
        "nodes_modes", "nodes_nodeids", "nodes_treeids", "nodes_truenodeids", "nodes_values", "post_transform",
    ]
    private static let legacyTensorAttributes: Set<String> = [
        "base_values_as_tensor", "nodes_hitrates_as_tensor", "nodes_values_as_tensor",
    ]

    /// TreeEnsembleClassifier / TreeEnsembleRegressor (ai.onnx.ml 1-4): nodes keyed by
    /// (tree id, node id), leaf weights as separate (tree id, node id, class or target) lists.
    static func readLegacy(
        _ attributes: NodeAttributes, op: ONNXEnsemble.Operator, opset: Int64, type: ONNXElementType
    ) throws(ForestLoadError) -> ONNXEnsemble {
        let prefix = op == .classifier ? "class" : "target"
        var known = legacyNodeAttributes.union(["\(prefix)_ids", "\(prefix)_nodeids", "\(prefix)_treeids", "\(prefix)_weights"])
        known.formUnion(op == .classifier ? ["classlabels_int64s", "classlabels_strings"] : ["aggregate_function", "n_targets"])
        // The *_as_tensor forms arrived with ai.onnx.ml 3; onnxruntime refuses them before.
        if opset >= 3 { known.formUnion(legacyTensorAttributes.union(["\(prefix)_weights_as_tensor"])) }
        try attributes.check(known: known, operatorName: "\(op.rawValue) at ai.onnx.ml opset \(opset)")

        let modes = try attributes.strings("nodes_modes")
        let count = modes.count
        guard count > 0 else { throw attributes.fail("nodes_modes", "is empty: the ensemble has no nodes") }
        func list(_ name: String) throws(ForestLoadError) -> [Int64] {
            try attributes.nodeInts(name, count: count, like: "nodes_modes")
        }
        let treeIDs = try list("nodes_treeids")
        let nodeIDs = try list("nodes_nodeids")
        let featureIDs = try list("nodes_featureids")
        let trueIDs = try list("nodes_truenodeids")
        let falseIDs = try list("nodes_falsenodeids")
        let thresholds = try attributes.floatsOrTensor("nodes_values", type: type)
        try attributes.expect("nodes_values", thresholds.count, count: count, like: "nodes_modes")
        let missingTrue = try attributes.ints("nodes_missing_value_tracks_true")
        try attributes.expect("nodes_missing_value_tracks_true", missingTrue.count, count: count, like: "nodes_modes", optional: true)
        let hitRates = try attributes.floatsOrTensor("nodes_hitrates", type: type)
        try attributes.expect("nodes_hitrates", hitRates.count, count: count, like: "nodes_modes", optional: true)

        let outputIDs = try attributes.ints("\(prefix)_ids")
        func weightList(_ name: String) throws(ForestLoadError) -> [Int64] {
            let values = try attributes.ints(name)
            try attributes.expect(name, values.count, count: outputIDs.count, like: "\(prefix)_ids")
            return values
        }
        let weightTrees = try weightList("\(prefix)_treeids")
        let weightNodes = try weightList("\(prefix)_nodeids")
        let weights = try attributes.floatsOrTensor("\(prefix)_weights", type: type)
        try attributes.expect("\(prefix)_weights", weights.count, count: outputIDs.count, like: "\(prefix)_ids")

        var ensemble = ONNXEnsemble(
            op: op, elementType: type, nodes: EnsembleNodes(), outputCount: 0,
            baseValues: try attributes.floatsOrTensor("base_values", type: type),
            aggregation: .sum, transform: try legacyTransform(attributes))
        if op == .classifier {
            let strings = try attributes.strings("classlabels_strings")
            let integers = try attributes.ints("classlabels_int64s")
            guard strings.isEmpty || integers.isEmpty else {
                throw attributes.fail("classlabels_strings", "and classlabels_int64s are both set; exactly one must be")
            }
            ensemble.classLabels = strings.isEmpty ? .integers(integers) : .strings(strings)
            ensemble.outputCount = strings.isEmpty ? integers.count : strings.count
            guard ensemble.outputCount > 0 else { throw attributes.fail("the classifier has no class labels") }
        } else {
            let targets = try attributes.int("n_targets") ?? 0
            guard targets > 0, targets <= 1 << 20 else { throw attributes.fail("n_targets", "is \(targets), expected 1 to 2^20") }
            ensemble.outputCount = Int(targets)
            ensemble.aggregation = try legacyAggregation(attributes)
        }

        // Nodes, keyed as onnxruntime keys them; ids outside Int32 would collide there.
        var index: [NodeKey: Int] = [:]
        var nodes = EnsembleNodes()
        for position in 0..<count {
            for (name, id) in [("nodes_treeids", treeIDs[position]), ("nodes_nodeids", nodeIDs[position])]
            where !(Int64(Int32.min)...Int64(Int32.max)).contains(id) {
                throw attributes.fail(name, index: position, "\(id) is outside the 32-bit range onnxruntime uses")
            }
            let key = NodeKey(tree: treeIDs[position], node: nodeIDs[position])
            let origin = "nodes_*[\(position)] (tree \(key.tree), node \(key.node))"
            guard index.updateValue(position, forKey: key) == nil else {
                throw attributes.fail("nodes_nodeids", index: position, "tree \(key.tree) lists node \(key.node) twice")
            }
            let rule: SplitRule?
            switch modes[position] {
            case "LEAF": rule = nil
            case "BRANCH_LEQ": rule = .lessOrEqual
            case "BRANCH_LT": rule = .less
            case "BRANCH_GTE": rule = .greaterOrEqual
            case "BRANCH_GT": rule = .greater
            case "BRANCH_EQ": rule = .equal
            case "BRANCH_NEQ": rule = .notEqual
            default: throw attributes.fail("nodes_modes", index: position, "unknown mode '\(modes[position])'")
            }
            var node = EnsembleNodes.Node(kind: rule.map { .split($0) } ?? .leaf, origin: origin)
            if let rule {
                let feature = featureIDs[position]
                guard feature >= 0, feature < ONNXGraphPlan.featureLimit else {
                    throw attributes.fail("nodes_featureids", index: position, "feature \(feature) is out of range")
                }
                node.feature = Int(feature)
                guard !thresholds[position].isNaN else {
                    throw attributes.fail("nodes_values", index: position, "the threshold of a split is NaN")
                }
                node.threshold = thresholds[position]
                // NaN != t holds, so BRANCH_NEQ sends NaN true whatever the flag says.
                node.nanGoesTrue = rule == .notEqual || (!missingTrue.isEmpty && missingTrue[position] == 1)
            }
            nodes.nodes.append(node)
        }
        for position in 0..<count where !nodes.nodes[position].isLeaf {
            for (name, ids) in [("nodes_truenodeids", trueIDs), ("nodes_falsenodeids", falseIDs)] {
                guard let child = index[NodeKey(tree: treeIDs[position], node: ids[position])] else {
                    throw attributes.fail(
                        name, index: position, "names node \(ids[position]), which tree \(treeIDs[position]) does not have")
                }
                if name == "nodes_truenodeids" { nodes.nodes[position].whenTrue = child } else { nodes.nodes[position].whenFalse = child }
            }
        }
        nodes.roots = try legacyRoots(treeIDs, nodes: nodes, attributes: attributes)

        // Weights: onnxruntime sorts them by (tree, node, position) and keeps each leaf's in
        // file order; weights on interior nodes it ignores.
        var weighted = [Bool](repeating: false, count: count)
        let singleTarget = op == .regressor && ensemble.outputCount == 1
        for entry in 0..<outputIDs.count {
            let output = outputIDs[entry]
            guard output >= 0, output < Int64(ensemble.outputCount) else {
                throw attributes.fail("\(prefix)_ids", index: entry, "\(output) is not below the \(ensemble.outputCount) outputs")
            }
            guard weights[entry].isFinite else {
                throw attributes.fail("\(prefix)_weights", index: entry, "\(weights[entry]) is not a finite weight")
            }
            ensemble.weightClassIDs.insert(Int(output))
            if weights[entry] < 0 { ensemble.weightsNonNegative = false }
            guard let position = index[NodeKey(tree: weightTrees[entry], node: weightNodes[entry])] else {
                throw attributes.fail(
                    "\(prefix)_nodeids", index: entry,
                    "names node \(weightNodes[entry]) of tree \(weightTrees[entry]), which the ensemble does not have")
            }
            guard nodes.nodes[position].isLeaf else { continue }
            // With one target onnxruntime adds only a leaf's first weight.
            if singleTarget && weighted[position] { continue }
            weighted[position] = true
            nodes.nodes[position].values.append(LeafValue(output: Int(output), value: weights[entry]))
        }
        // ...and a single-target leaf without weights adds its own nodes_values entry.
        for position in 0..<count where singleTarget && nodes.nodes[position].isLeaf && !weighted[position] {
            if thresholds[position] != 0 { nodes.nodes[position].values = [LeafValue(output: 0, value: thresholds[position])] }
        }
        ensemble.featureBound = nodes.featureBound(reachableOnly: false)
        ensemble.nodes = nodes
        return ensemble
    }

    private struct NodeKey: Hashable {
        var tree: Int64
        var node: Int64
    }

    /// onnxruntime starts a tree at the first node of each run of equal tree ids and builds
    /// it from there; nodes it cannot reach, or a tree id that comes back after another, it
    /// mis-assigns. Both are errors here.
    private static func legacyRoots(
        _ treeIDs: [Int64], nodes: EnsembleNodes, attributes: NodeAttributes
    ) throws(ForestLoadError) -> [Int] {
        var roots: [Int] = []
        var seenTrees: Set<Int64> = []
        var position = 0
        while position < treeIDs.count {
            let tree = treeIDs[position]
            guard seenTrees.insert(tree).inserted else {
                throw attributes.fail("nodes_treeids", index: position, "the nodes of tree \(tree) are not listed together")
            }
            var end = position
            while end < treeIDs.count && treeIDs[end] == tree { end += 1 }
            let reached = nodes.reachable(from: [position])
            if let lost = (position..<end).first(where: { !reached[$0] }) {
                throw attributes.fail(
                    "nodes_nodeids", index: lost,
                    "\(nodes.nodes[lost].origin) cannot be reached from the root of tree \(tree) (its first listed node)")
            }
            roots.append(position)
            position = end
        }
        return roots
    }

    private static func legacyTransform(_ attributes: NodeAttributes) throws(ForestLoadError) -> ONNXEnsemble.Transform {
        let name = try attributes.string("post_transform") ?? "NONE"
        guard let transform = ONNXEnsemble.Transform(rawValue: name) else {
            throw attributes.fail("post_transform", "unknown transform '\(name)'")
        }
        return transform
    }

    private static func legacyAggregation(_ attributes: NodeAttributes) throws(ForestLoadError) -> Aggregation {
        switch try attributes.string("aggregate_function") ?? "SUM" {
        case "SUM": return .sum
        case "AVERAGE": return .average
        case let name where name == "MIN" || name == "MAX":
            throw attributes.fail("aggregate_function", "\(name) is not supported (SUM and AVERAGE are)")
        case let name:
            throw attributes.fail("aggregate_function", "unknown aggregate function '\(name)'")
        }
    }
}
