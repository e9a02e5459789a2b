extension ForestModel {
    /// Checks what the evaluators rely on: every child index inside its tree, every node
    /// reachable from the root exactly once (no cycles, no shared children), features and
    /// outputs in range, a head that matches the output count. Loaders call this last, so a
    /// malformed file is an error and never a crash or a loop at prediction time.
    public func validate(file: String) throws(ForestLoadError) {
        func fail(_ part: String, _ reason: String) -> ForestLoadError {
            ForestLoadError(file: file, part: part, reason: reason)
        }
        guard featureCount > 0 else { throw fail("model", "the model declares no input features") }
        guard outputCount > 0 else { throw fail("model", "the model has no outputs") }
        guard !trees.isEmpty else { throw fail("model", "the model has no trees") }
        guard baseScores.isEmpty || baseScores.count == outputCount else {
            throw fail("model", "\(baseScores.count) base scores for \(outputCount) outputs")
        }
        if let names = featureNames, names.count != featureCount {
            throw fail("model", "\(names.count) feature names for \(featureCount) features")
        }
        switch head {
        case .regression:
            break
        case .classification(let labels, .perClass):
            guard labels.count == outputCount else {
                throw fail("model", "\(labels.count) class labels for \(outputCount) class scores")
            }
            guard labels.count >= 2 else { throw fail("model", "a classifier needs at least two classes") }
        case .classification(let labels, .binary):
            guard labels.count == 2, outputCount == 1 else {
                throw fail("model", "a binary head needs two labels and one score, got \(labels.count) and \(outputCount)")
            }
        }
        for (treeIndex, tree) in trees.enumerated() {
            try tree.validate(
                featureCount: featureCount, outputCount: outputCount,
                part: "tree \(treeIndex)", file: file
            )
        }
    }
}

extension DecisionTree {
    func validate(featureCount: Int, outputCount: Int, part: String, file: String) throws(ForestLoadError) {
        func fail(_ reason: String) -> ForestLoadError {
            ForestLoadError(file: file, part: part, reason: reason)
        }
        guard !nodes.isEmpty else { throw fail("the tree has no nodes") }
        var seen = [Bool](repeating: false, count: nodes.count)
        var stack = [0]
        seen[0] = true
        func visit(_ child: Int, from node: Int) throws(ForestLoadError) {
            guard child >= 0, child < nodes.count else {
                throw fail("node \(node) points to child \(child), outside the tree's \(nodes.count) nodes")
            }
            guard !seen[child] else {
                throw fail("node \(child) is reached twice (a cycle or a shared child)")
            }
            seen[child] = true
            stack.append(child)
        }
        while let index = stack.popLast() {
            switch nodes[index] {
            case .split(let split):
                guard split.feature >= 0, split.feature < featureCount else {
                    throw fail("node \(index) splits on feature \(split.feature), the model has \(featureCount)")
                }
                guard !split.threshold.isNaN else { throw fail("node \(index) has a NaN threshold") }
                try visit(split.whenTrue, from: index)
                try visit(split.whenFalse, from: index)
            case .categorical(let split):
                guard split.feature >= 0, split.feature < featureCount else {
                    throw fail("node \(index) splits on feature \(split.feature), the model has \(featureCount)")
                }
                try visit(split.whenMember, from: index)
                try visit(split.whenOther, from: index)
            case .leaf(let values):
                for value in values {
                    guard value.output >= 0, value.output < outputCount else {
                        throw fail("leaf \(index) adds to output \(value.output), the model has \(outputCount)")
                    }
                    guard value.value.isFinite else {
                        throw fail("leaf \(index) holds a non-finite value \(value.value)")
                    }
                }
            }
        }
    }
}
