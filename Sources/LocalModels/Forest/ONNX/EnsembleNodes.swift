/// A tree operator's nodes in one form for both operator generations (the `nodes_*` lists of
/// TreeEnsembleClassifier/Regressor, or TreeEnsemble's interior nodes and leaves), before they
/// are laid out as `ForestModel` trees.
///
/// Children are indices into `nodes` and may be shared: onnxmltools writes a LightGBM
/// category set as a chain of BRANCH_EQ nodes whose true branches all lead to one subtree,
/// and onnxruntime walks that as a DAG. `ForestModel` trees are strict trees, so a shared
/// subtree is copied for every way into it; the answer is the same.
struct EnsembleNodes {
    enum Kind {
        case leaf
        case split(SplitRule)
        /// TreeEnsemble's BRANCH_MEMBER: true when the feature is one of the values.
        case member([Double])
    }

    struct Node {
        var kind: Kind
        var feature: Int = 0
        var threshold: Double = 0
        var nanGoesTrue: Bool = false
        var whenTrue: Int = 0
        var whenFalse: Int = 0
        /// A leaf's contributions, in the order onnxruntime adds them.
        var values: [LeafValue] = []
        /// Where the node is in the file, for messages ("nodes_*[17] (tree 2, node 5)").
        var origin: String

        var isLeaf: Bool {
            if case .leaf = kind { return true }
            return false
        }
    }

    var nodes: [Node] = []
    /// The root of each tree, in the order onnxruntime sums the trees.
    var roots: [Int] = []

    /// Lays the trees out with each root at index 0, copying shared subtrees. Fails on a
    /// cycle (onnxruntime would loop forever) and when copies would pass `nodeBudget`.
    func layOutTrees(
        nodeBudget: Int, fail: (String) -> ForestLoadError
    ) throws(ForestLoadError) -> [DecisionTree] {
        try checkIndices(fail: fail)
        try checkAcyclic(fail: fail)
        var budget = nodeBudget
        var trees: [DecisionTree] = []
        trees.reserveCapacity(roots.count)
        for root in roots {
            trees.append(try layOutTree(root: root, budget: &budget, fail: fail))
        }
        return trees
    }

    /// Indices of the nodes `starts` reach (all roots when nil).
    func reachable(from starts: [Int]? = nil) -> [Bool] {
        var seen = [Bool](repeating: false, count: nodes.count)
        var stack = starts ?? roots
        while let index = stack.popLast() {
            guard !seen[index] else { continue }
            seen[index] = true
            if nodes[index].isLeaf { continue }
            stack.append(nodes[index].whenTrue)
            stack.append(nodes[index].whenFalse)
        }
        return seen
    }

    /// One past the highest feature a split reads (of those the roots reach, if asked).
    func featureBound(reachableOnly: Bool) -> Int {
        let reached = reachableOnly ? reachable() : [Bool](repeating: true, count: nodes.count)
        var bound = 0
        for (index, node) in nodes.enumerated() where reached[index] && !node.isLeaf {
            bound = max(bound, node.feature + 1)
        }
        return bound
    }

    /// Every root and child index inside `nodes`, so the walks below cannot trap.
    private func checkIndices(fail: (String) -> ForestLoadError) throws(ForestLoadError) {
        for root in roots where !nodes.indices.contains(root) {
            throw fail("tree root \(root) is not one of the \(nodes.count) nodes")
        }
        for node in nodes where !node.isLeaf {
            for child in [node.whenTrue, node.whenFalse] where !nodes.indices.contains(child) {
                throw fail("\(node.origin) points to node \(child), outside the \(nodes.count) nodes")
            }
            if case .member(let members) = node.kind, members.isEmpty {
                throw fail("\(node.origin) tests membership of an empty set")
            }
        }
    }

    /// Depth-first search with three colours: a child still on the path closes a cycle.
    private func checkAcyclic(fail: (String) -> ForestLoadError) throws(ForestLoadError) {
        let white: UInt8 = 0
        let onPath: UInt8 = 1
        let done: UInt8 = 2
        var colour = [UInt8](repeating: white, count: nodes.count)
        for root in roots where colour[root] == white {
            var path: [(node: Int, nextChild: Int)] = [(root, 0)]
            colour[root] = onPath
            while let top = path.last {
                let node = nodes[top.node]
                let children = node.isLeaf ? [] : [node.whenTrue, node.whenFalse]
                guard top.nextChild < children.count else {
                    colour[top.node] = done
                    path.removeLast()
                    continue
                }
                path[path.count - 1].nextChild += 1
                let child = children[top.nextChild]
                if colour[child] == onPath {
                    throw fail("\(nodes[child].origin) is its own descendant (a cycle through \(node.origin))")
                }
                if colour[child] == white {
                    colour[child] = onPath
                    path.append((child, 0))
                }
            }
        }
    }

    private func layOutTree(
        root: Int, budget: inout Int, fail: (String) -> ForestLoadError
    ) throws(ForestLoadError) -> DecisionTree {
        var laidOut: [TreeNode] = []
        func allocate() throws(ForestLoadError) -> Int {
            guard budget > 0 else {
                throw fail("copying shared subtrees would make more than the allowed number of nodes")
            }
            budget -= 1
            laidOut.append(.leaf([]))
            return laidOut.count - 1
        }
        var work: [(node: Int, slot: Int)] = [(root, try allocate())]
        while let (index, slot) = work.popLast() {
            let node = nodes[index]
            switch node.kind {
            case .leaf:
                laidOut[slot] = .leaf(node.values)
            case .split(let rule):
                let whenTrue = try allocate()
                let whenFalse = try allocate()
                laidOut[slot] = .split(
                    NumericSplit(
                        feature: node.feature, threshold: node.threshold, rule: rule,
                        nanGoesTrue: node.nanGoesTrue, whenTrue: whenTrue, whenFalse: whenFalse))
                work.append((node.whenFalse, whenFalse))
                work.append((node.whenTrue, whenTrue))
            case .member(let members):
                if Self.isSmallSet(members) {
                    // onnxruntime unrolls a small set into BRANCH_EQ nodes: exact equality.
                    var current = slot
                    for (position, member) in members.enumerated() {
                        let whenTrue = try allocate()
                        let whenFalse = try allocate()
                        laidOut[current] = .split(
                            NumericSplit(
                                feature: node.feature, threshold: member, rule: .equal,
                                nanGoesTrue: node.nanGoesTrue, whenTrue: whenTrue, whenFalse: whenFalse))
                        work.append((node.whenTrue, whenTrue))
                        if position == members.count - 1 { work.append((node.whenFalse, whenFalse)) }
                        current = whenFalse
                    }
                } else {
                    let whenMember = try allocate()
                    let whenOther = try allocate()
                    laidOut[slot] = .categorical(
                        CategoricalSplit(
                            feature: node.feature, categories: Set(members.map { Int($0) }),
                            nanGoesMember: node.nanGoesTrue, whenMember: whenMember, whenOther: whenOther))
                    work.append((node.whenFalse, whenOther))
                    work.append((node.whenTrue, whenMember))
                }
            }
        }
        return DecisionTree(nodes: laidOut)
    }

    /// onnxruntime (1.32) unrolls BRANCH_MEMBER sets of fewer than 31 values, all in 0...30,
    /// into BRANCH_EQ chains (exact equality, so 1.5 is not a member of {1}); larger sets
    /// become a set lookup on the value truncated to an integer (1.5 is then a member).
    static func isSmallSet(_ members: [Double]) -> Bool {
        members.count < 31 && members.allSatisfy { $0 >= 0 && $0 <= 30 }
    }
}

extension [DecisionTree] {
    /// The outputs every row adds to: those that some tree feeds from every one of its leaves.
    /// onnxruntime keeps a "has a score" flag per output and treats an output no reached leaf
    /// fed differently from one that summed to zero; outputs in this set always have one.
    func alwaysScoredOutputs() -> Set<Int> {
        var always: Set<Int> = []
        for tree in self {
            var inEveryLeaf: Set<Int>?
            for node in tree.nodes {
                guard case .leaf(let values) = node else { continue }
                let outputs = Set(values.map(\.output))
                inEveryLeaf = inEveryLeaf.map { $0.intersection(outputs) } ?? outputs
            }
            always.formUnion(inEveryLeaf ?? [])
        }
        return always
    }
}
