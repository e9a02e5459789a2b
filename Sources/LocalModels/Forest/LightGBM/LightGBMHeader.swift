/// What the header of a LightGBM model file says about the ensemble, checked for consistency
/// with itself; `check(treeCount:endOfTrees:)` checks it against the trees that follow.
struct LightGBMHeader {
    var featureCount: Int
    var featureNames: [String]
    var treesPerIteration: Int
    var objective: LightGBMObjective
    var averageOutput: Bool
    /// `tree_sizes`, one entry per tree, when the file has it.
    var treeSizeCount: Int?
    private let fields: LightGBMFields

    init(_ fields: LightGBMFields) throws(ForestLoadError) {
        self.fields = fields
        let classCount = try fields.integer("num_class")
        guard classCount >= 1 else { throw fields.fail("num_class", "num_class must be at least 1, got \(classCount)") }
        treesPerIteration =
            fields.contains("num_tree_per_iteration")
            ? try fields.integer("num_tree_per_iteration") : classCount
        guard treesPerIteration >= 1 else {
            throw fields.fail(
                "num_tree_per_iteration",
                "num_tree_per_iteration must be at least 1, got \(treesPerIteration)"
            )
        }
        let maxFeature = try fields.integer("max_feature_idx")
        guard maxFeature >= 0, maxFeature < Int(Int32.max) else {
            throw fields.fail("max_feature_idx", "max_feature_idx \(maxFeature) is out of range")
        }
        featureCount = maxFeature + 1

        featureNames = try fields.text("feature_names").split(separator: " ").map(String.init)
        guard featureNames.count == featureCount else {
            throw fields.fail(
                "feature_names",
                "\(featureNames.count) names for the \(featureCount) features of max_feature_idx"
            )
        }
        if fields.contains("feature_infos") {
            let infos = try fields.text("feature_infos").split(separator: " ")
            guard infos.count == featureCount else {
                throw fields.fail("feature_infos", "\(infos.count) entries for \(featureCount) features")
            }
        }

        let expected: Int
        if fields.contains("objective") {
            objective = try LightGBMObjective(fields.text("objective")) { reason in fields.fail("objective", reason) }
            expected = objective.outputCount
        } else {
            // A custom objective leaves no line; predict returns the raw scores.
            objective = .identity
            expected = treesPerIteration
        }
        guard classCount == expected, treesPerIteration == expected else {
            throw fields.fail(
                fields.contains("objective") ? "objective" : "num_class",
                "num_class \(classCount) and num_tree_per_iteration \(treesPerIteration) do not fit "
                    + "the objective's \(expected) scores"
            )
        }

        averageOutput = fields.contains("average_output")
        if averageOutput && treesPerIteration > 1 {
            // LightGBM divides by the iteration count, the engine's average by the tree count.
            throw fields.fail(
                "average_output",
                "random forests with \(treesPerIteration) trees per iteration are not supported"
            )
        }
        if fields.contains("tree_sizes") {
            treeSizeCount = try fields.elements("tree_sizes", count: nil, expecting: "a size") { Int($0) }.count
        }
    }

    func check(treeCount: Int, endOfTrees line: Int) throws(ForestLoadError) {
        if let treeSizeCount, treeSizeCount != treeCount {
            throw fields.fail("tree_sizes", "tree_sizes lists \(treeSizeCount) trees, the file has \(treeCount)")
        }
        guard treeCount > 0 else {
            throw ForestLoadError(file: fields.file, part: "line \(line)", reason: "the model has no trees")
        }
        guard treeCount % treesPerIteration == 0 else {
            throw ForestLoadError(
                file: fields.file,
                part: "line \(line)",
                reason: "\(treeCount) trees is not a whole number of iterations of \(treesPerIteration) trees"
            )
        }
    }
}
