import TollgateJSON

/// Loads XGBoost's JSON model format (`Booster.save_model("m.json")`, XGBoost 1.0 to 3.x).
///
/// The model computes what `Booster.predict(DMatrix(x))` does: inputs rounded to float32 and
/// compared `x < split_condition`; the sum starts from the base margin and adds each tree's
/// leaf in file order, in float32; the objective's transform comes last. `base_score` is
/// written in output space and turned into a margin with the objective's link, in float32.
///
/// Supported: gbtree and dart boosters (dart's `weight_drop` scales each tree), categorical
/// splits, several trees per round (`num_parallel_tree`), multi-target trees as XGBoost 3 writes
/// them, and the objectives `XGBoostObjective` lists. Anything else is a `ForestLoadError`.
public enum XGBoostLoader {
    public static func load(bytes: [UInt8], file: String) throws(ForestLoadError) -> ForestModel {
        let root = try document(bytes, file: file)
        let learner = try root.member("learner")
        let objectiveName = try learner.member("objective").member("name")
        guard let objective = XGBoostObjective(name: try objectiveName.string()) else {
            throw objectiveName.fail(
                "objective \"\(try objectiveName.string())\" is not supported; supported: "
                    + XGBoostObjective.supportedNames.joined(separator: ", ")
            )
        }

        let parameters = try learner.member("learner_model_param")
        let featureCount = try parameters.member("num_feature").integer()
        let classCount = try parameters.member("num_class").integer()
        let targetCount = try parameters.optionalMember("num_target")?.integer() ?? 1
        guard featureCount > 0 else { throw try parameters.member("num_feature").fail("the model has no features") }
        guard classCount >= 0, targetCount >= 1 else {
            throw parameters.fail("num_class \(classCount) and num_target \(targetCount) make no outputs")
        }
        let outputCount = max(classCount, targetCount)
        // Every output needs a tree or a leaf value of its own, so a count beyond the file's size
        // is corruption, refused before anything is sized by it.
        guard outputCount <= bytes.count else {
            throw parameters.fail(
                "num_class \(classCount) and num_target \(targetCount) are more outputs than the file holds"
            )
        }
        switch objective {
        case .softmax:
            guard classCount >= 2, targetCount == 1 else {
                throw try parameters.member("num_class").fail(
                    "\(try objectiveName.string()) needs num_class >= 2 and one target, "
                        + "got \(classCount) and \(targetCount)"
                )
            }
        case .binaryLogistic:
            guard outputCount == 1 else {
                throw parameters.fail("binary:logistic with \(outputCount) outputs (multi-label) is not supported")
            }
        default:
            break
        }

        let baseScores = try baseMargins(
            parameters.member("base_score"),
            objective: objective,
            outputCount: outputCount
        )
        let trees = try ensemble(
            learner.member("gradient_booster"),
            featureCount: featureCount,
            outputCount: outputCount
        )
        let model = ForestModel(
            format: .xgboost,
            featureCount: featureCount,
            featureNames: try featureNames(learner),
            outputCount: outputCount,
            trees: trees,
            baseScores: baseScores,
            baseTiming: .beforeTrees,
            aggregation: .sum,
            splitPrecision: .float32,
            accumulation: .float32,
            head: objective.head(outputCount: outputCount)
        )
        try model.validate(file: file)
        return model
    }

    private static func document(_ bytes: [UInt8], file: String) throws(ForestLoadError) -> XGBoostField {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            // UBJSON (`.ubj`, XGBoost 2's default binary format) opens with '{' and a type marker.
            let markers: Set<UInt8> = Set("iUILdDSTF$#{[".utf8)
            let hint =
                bytes.count > 1 && bytes[0] == UInt8(ascii: "{") && markers.contains(bytes[1])
                ? " (this looks like UBJSON; save the model with a .json name)" : ""
            throw ForestLoadError(file: file, part: "", reason: "not valid JSON: \(error)\(hint)")
        }
        guard value.objectValue != nil else {
            throw ForestLoadError(file: file, part: "", reason: "an XGBoost model is a JSON object")
        }
        return XGBoostField(value: value, path: "", file: file)
    }

    /// `base_score` as a margin per output. XGBoost writes one number as a string ("5E-1"),
    /// XGBoost 3 a bracketed list ("[5E-1]", or one intercept per class or target).
    private static func baseMargins(
        _ field: XGBoostField,
        objective: XGBoostObjective,
        outputCount: Int
    ) throws(ForestLoadError) -> [Double] {
        var text: Substring
        if case .number(let lexeme) = field.value {
            text = Substring(lexeme)
        } else {
            text = Substring(try field.string())
        }
        if text.first == "[" && text.last == "]" { text = text.dropFirst().dropLast() }
        var scores: [Float] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let score = Float(item.trimmingSpaces()), score.isFinite else {
                throw field.fail("\"\(text)\" is not a number or a list of numbers")
            }
            scores.append(score)
        }
        guard scores.count == 1 || scores.count == outputCount else {
            throw field.fail("\(scores.count) base scores for \(outputCount) outputs")
        }
        var margins: [Double] = []
        for score in scores {
            guard let margin = objective.margin(fromBaseScore: score), margin.isFinite else {
                throw field.fail("base score \(score) must be \(objective.baseScoreDomain) for this objective")
            }
            margins.append(Double(margin))
        }
        return margins.count == outputCount ? margins : Array(repeating: margins[0], count: outputCount)
    }

    /// The trees of a gbtree booster, or of the gbtree inside a dart booster with each tree's
    /// `weight_drop`.
    private static func ensemble(
        _ booster: XGBoostField,
        featureCount: Int,
        outputCount: Int
    ) throws(ForestLoadError) -> [DecisionTree] {
        let name = try booster.member("name").string()
        let model: XGBoostField
        var weights: [Float]? = nil
        switch name {
        case "gbtree":
            model = try booster.member("model")
        case "dart":
            model = try booster.member("gbtree").member("model")
            weights = try booster.member("weight_drop").floats()
        default:
            throw try booster.member("name").fail(
                "booster \"\(name)\" is not supported; gbtree and dart are (gblinear is not a tree ensemble)"
            )
        }
        let trees = try model.member("trees").elements()
        let treeInfo = try model.member("tree_info").integers()
        guard treeInfo.count == trees.count else {
            throw try model.member("tree_info").fail("\(treeInfo.count) entries for \(trees.count) trees")
        }
        if let declared = try model.optionalMember("gbtree_model_param")?.optionalMember("num_trees")?.integer(),
            declared != trees.count
        {
            throw try model.member("trees").fail("\(trees.count) trees, gbtree_model_param.num_trees says \(declared)")
        }
        if let weights, weights.count != trees.count {
            throw try booster.member("weight_drop").fail("\(weights.count) weights for \(trees.count) trees")
        }
        try checkIterations(model, treeCount: trees.count)

        var result: [DecisionTree] = []
        result.reserveCapacity(trees.count)
        for (index, tree) in trees.enumerated() {
            guard treeInfo[index] >= 0, treeInfo[index] < outputCount else {
                throw try model.member("tree_info").fail(
                    "tree \(index) feeds output \(treeInfo[index]), the model has \(outputCount)"
                )
            }
            let context = TreeContext(
                featureCount: featureCount,
                outputCount: outputCount,
                output: treeInfo[index],
                weight: weights?[index] ?? 1
            )
            result.append(try self.tree(tree, context: context))
        }
        return result
    }

    /// `iteration_indptr` (XGBoost 2+) says which trees each boosting round made; prediction
    /// sums them all in order, so it only has to be consistent.
    private static func checkIterations(_ model: XGBoostField, treeCount: Int) throws(ForestLoadError) {
        guard let field = model.optionalMember("iteration_indptr") else { return }
        let bounds = try field.integers()
        guard bounds.first == 0, bounds.last == treeCount, zip(bounds, bounds.dropFirst()).allSatisfy({ $0 <= $1 })
        else {
            throw field.fail("round boundaries must rise from 0 to the \(treeCount) trees")
        }
    }

    private static func featureNames(_ learner: XGBoostField) throws(ForestLoadError) -> [String]? {
        guard let field = learner.optionalMember("feature_names") else { return nil }
        let names = try field.strings()
        return names.isEmpty ? nil : names
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
