/// Small LightGBM text models written by hand, laid out as `Booster.save_model` writes them,
/// for tests that need one exact detail wrong or right.
struct LightGBMTestModel {
    struct Tree {
        /// The block's lines after `Tree=N`, in order; a test may replace or drop any.
        var lines: [(key: String, value: String)]

        /// A stump on `feature`: `x <= threshold` goes left to `low`, else right to `high`.
        static func stump(feature: Int = 0, threshold: String, decisionType: Int = 2, low: String, high: String) -> Tree
        {
            Tree(lines: [
                ("num_leaves", "2"), ("num_cat", "0"), ("split_feature", "\(feature)"), ("split_gain", "1"),
                ("threshold", threshold), ("decision_type", "\(decisionType)"), ("left_child", "-1"),
                ("right_child", "-2"), ("leaf_value", "\(low) \(high)"), ("leaf_weight", "1 1"),
                ("leaf_count", "1 1"), ("internal_value", "0"), ("internal_weight", "2"),
                ("internal_count", "2"), ("is_linear", "0"), ("shrinkage", "1"),
            ])
        }

        subscript(key: String) -> String? {
            get { lines.first { $0.key == key }?.value }
            set {
                if let index = lines.firstIndex(where: { $0.key == key }) {
                    if let newValue { lines[index].value = newValue } else { lines.remove(at: index) }
                } else if let newValue {
                    lines.append((key, newValue))
                }
            }
        }
    }

    var objective: String? = "regression"
    var classCount = 1
    var treesPerIteration: Int? = nil
    var featureNames = ["a", "b"]
    var maxFeatureIndex: Int? = nil
    var averageOutput = false
    var trees: [Tree] = [.stump(threshold: "0.5", low: "1", high: "2")]
    var treeSizes: [Int]? = nil
    var extraHeader: [String] = []

    var text: String {
        var header = [
            "tree", "version=v4", "num_class=\(classCount)",
            "num_tree_per_iteration=\(treesPerIteration ?? classCount)", "label_index=0",
            "max_feature_idx=\(maxFeatureIndex ?? featureNames.count - 1)",
        ]
        if let objective { header.append("objective=\(objective)") }
        if averageOutput { header.append("average_output") }
        header.append("feature_names=\(featureNames.joined(separator: " "))")
        header.append("feature_infos=\(featureNames.map { _ in "[0:1]" }.joined(separator: " "))")
        let blocks = trees.enumerated().map { index, tree in
            (["Tree=\(index)"] + tree.lines.map { "\($0.key)=\($0.value)" }).joined(separator: "\n") + "\n\n\n"
        }
        header.append("tree_sizes=\((treeSizes ?? blocks.map(\.utf8.count)).map(String.init).joined(separator: " "))")
        header += extraHeader
        return header.joined(separator: "\n") + "\n\n" + blocks.joined()
            + "end of trees\n\nfeature_importances:\na=1\n\nparameters:\n[boosting: gbdt]\nend of parameters\n\n"
            + "pandas_categorical:null\n"
    }

    var bytes: [UInt8] { Array(text.utf8) }
}
