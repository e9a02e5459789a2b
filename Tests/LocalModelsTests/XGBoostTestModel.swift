/// Small XGBoost JSON documents written by hand, shaped as `Booster.save_model("m.json")`
/// writes them in XGBoost 3, for tests that need one exact detail wrong or right.
struct XGBoostTestModel {
    struct Tree {
        var left: [Int]
        var right: [Int]
        var features: [Int]
        var conditions: [String]
        var defaultLeft: [Int]
        var splitTypes: [Int]? = nil
        /// Categorical nodes: (node, categories sent right).
        var categories: [(node: Int, values: [Int])] = []
        var declaredNodes: Int? = nil

        /// A stump: `x[feature] < threshold` goes left to `low`, else right to `high`.
        static func stump(
            feature: Int = 0,
            threshold: String,
            low: String,
            high: String,
            defaultLeft: Bool = true
        ) -> Tree {
            Tree(
                left: [1, -1, -1],
                right: [2, -1, -1],
                features: [feature, 0, 0],
                conditions: [threshold, low, high],
                defaultLeft: [defaultLeft ? 1 : 0, 0, 0]
            )
        }

        var json: String {
            let types = splitTypes ?? Array(repeating: 0, count: left.count)
            var segments: [Int] = []
            var flat: [Int] = []
            for entry in categories {
                segments.append(flat.count)
                flat += entry.values
            }
            return """
                {"base_weights": [\(Array(repeating: "0", count: left.count).joined(separator: ","))],
                 "categories": \(flat), "categories_nodes": \(categories.map(\.node)),
                 "categories_segments": \(segments), "categories_sizes": \(categories.map(\.values.count)),
                 "default_left": \(defaultLeft), "id": 0, "left_children": \(left),
                 "right_children": \(right), "split_conditions": [\(conditions.joined(separator: ","))],
                 "split_indices": \(features), "split_type": \(types),
                 "tree_param": {"num_deleted": "0", "num_feature": "2",
                                "num_nodes": "\(declaredNodes ?? left.count)", "size_leaf_vector": "1"}}
                """
        }
    }

    var objective = "reg:squarederror"
    var featureCount = 2
    var classCount = 0
    var baseScore = "[5E-1]"
    var featureNames: [String] = []
    var trees: [Tree] = [.stump(threshold: "0.5", low: "1", high: "2")]
    var treeInfo: [Int]? = nil
    var declaredTrees: Int? = nil
    var booster = "gbtree"

    var json: String {
        let info = treeInfo ?? Array(repeating: 0, count: trees.count)
        let names = featureNames.map { "\"\($0)\"" }.joined(separator: ",")
        return """
            {"learner": {
              "attributes": {},
              "feature_names": [\(names)], "feature_types": [],
              "gradient_booster": {"name": "\(booster)", "model": {
                "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "\(declaredTrees ?? trees.count)"},
                "iteration_indptr": \(Array(0...trees.count)),
                "tree_info": \(info),
                "trees": [\(trees.map(\.json).joined(separator: ","))]}},
              "learner_model_param": {"base_score": "\(baseScore)", "boost_from_average": "1",
                "num_class": "\(classCount)", "num_feature": "\(featureCount)", "num_target": "1"},
              "objective": {"name": "\(objective)"}},
             "version": [3, 2, 0]}
            """
    }

    var bytes: [UInt8] { Array(json.utf8) }
}
