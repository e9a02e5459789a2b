extension ONNXForestLoader {
    /// How the accumulated scores become the answer, as onnxruntime's tree aggregators do it.
    struct HeadChoice {
        var head: Head
        var outputCount: Int
        var baseScores: [Double]
        var aggregation: Aggregation
    }

    /// onnxruntime keeps a "has a score" flag per output and, where no leaf reached fed an
    /// output, treats it apart from an output that summed to zero. The engine has no such
    /// flag, so each rule below either leaves it no way to matter or refuses the model.
    static func chooseHead(
        _ ensemble: ONNXEnsemble, trees: [DecisionTree], attributes: NodeAttributes
    ) throws(ForestLoadError) -> HeadChoice {
        func fail(_ name: String, _ reason: String) -> ForestLoadError { attributes.fail(name, reason) }
        let base = ensemble.baseValues
        let count = ensemble.outputCount
        guard let labels = ensemble.classLabels else {
            guard base.isEmpty || base.count == count else {
                throw fail("base_values", "has \(base.count) values for \(count) targets, expected 0 or \(count)")
            }
            if count == 1 {
                // With one target onnxruntime applies PROBIT and ignores every other transform.
                let transform: PostTransform = ensemble.transform == .probit ? .probit : .identity
                return HeadChoice(
                    head: .regression(floatOutput(transform, ensemble)), outputCount: 1, baseScores: base,
                    aggregation: ensemble.aggregation)
            }
            // onnxruntime outputs 0 for a target no reached leaf fed, base value or not.
            let always = trees.alwaysScoredOutputs()
            if let target = base.indices.first(where: { base[$0] != 0 && !always.contains($0) }) {
                throw fail(
                    "base_values",
                    "target \(target) has base value \(base[target]) but is fed by only some leaves of every tree; "
                        + "onnxruntime then outputs 0 instead of the base, which this engine does not reproduce")
            }
            return HeadChoice(
                head: .regression(floatOutput(postTransform(ensemble.transform), ensemble)), outputCount: count,
                baseScores: base, aggregation: ensemble.aggregation)
        }

        // onnxruntime's classifier always sums, whatever aggregate_function says.
        guard count >= 2 else { throw attributes.fail("a classifier needs at least two classes, this one has \(count)") }
        guard !ensemble.weightClassIDs.isEmpty else { throw fail("class_weights", "the classifier has no class weights") }
        if count > 2 {
            guard base.isEmpty || base.count == count else {
                throw fail("base_values", "has \(base.count) values for \(count) classes, expected 0 or \(count)")
            }
            // Base values give every class a score; without them onnxruntime picks the label
            // among the classes some reached leaf fed, which is the plain argmax only when
            // every class is always fed.
            let always = base.isEmpty ? trees.alwaysScoredOutputs() : []
            if base.isEmpty, let lonely = (0..<count).first(where: { !always.contains($0) }) {
                throw fail(
                    "class_ids",
                    "class \(lonely) is fed by only some leaves of every tree and there are no base_values; "
                        + "onnxruntime then leaves it out of the label choice, which this engine does not reproduce")
            }
            return HeadChoice(
                head: .classification(labels: labels, scores: .perClass(postTransform(ensemble.transform))),
                outputCount: count, baseScores: base, aggregation: .sum)
        }

        // Two classes. onnxruntime's binary case is one score s for the second class.
        guard ensemble.weightClassIDs == [0] else {
            let ids = ensemble.weightClassIDs.sorted().map(String.init).joined(separator: " and ")
            throw fail(
                "class_ids",
                "the weights of this two-class model name class \(ids); onnxruntime then answers in a layout this "
                    + "engine does not reproduce (only the one-score form with class id 0 is supported)")
        }
        guard base.count <= 1 else {
            throw fail("base_values", "has \(base.count) values for a one-score binary classifier, expected 0 or 1")
        }
        guard ensemble.transform != .probit else {
            throw fail("post_transform", "PROBIT on a binary classifier: onnxruntime writes only one probability column")
        }
        // All weights >= 0: the label is s > 0.5; otherwise s > 0. Only LOGISTIC transforms;
        // the others leave [1 - s, s] (all weights >= 0) or [-s, s].
        let positiveAbove = ensemble.weightsNonNegative ? 0.5 : 0
        let scores: ClassScores
        if ensemble.transform == .logistic {
            scores = .binary(.logistic(scale: 1), negative: .transformOfNegated, positiveAbove: positiveAbove)
        } else {
            scores = .binary(
                .identity, negative: ensemble.weightsNonNegative ? .complement : .transformOfNegated,
                positiveAbove: positiveAbove)
        }
        return HeadChoice(
            head: .classification(labels: labels, scores: scores), outputCount: 1, baseScores: base, aggregation: .sum)
    }

    /// TreeEnsembleRegressor writes float whatever it summed in; TreeEnsemble writes its input's
    /// type. (Class probabilities are left unrounded: they are at most 1, so float rounding is
    /// far below 1e-6, and rounding could tie two classes that onnxruntime tells apart.)
    private static func floatOutput(_ transform: PostTransform, _ ensemble: ONNXEnsemble) -> PostTransform {
        ensemble.op == .regressor && ensemble.elementType == .double ? .roundedToFloat(transform) : transform
    }

    private static func postTransform(_ transform: ONNXEnsemble.Transform) -> PostTransform {
        switch transform {
        case .none: .identity
        case .logistic: .logistic(scale: 1)
        case .softmax: .softmax
        case .softmaxZero: .softmaxZero
        case .probit: .probit
        }
    }
}
