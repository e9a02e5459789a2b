import Cache
import LocalModels
import Prometheus
import Router

@testable import Gateway

/// Small hand-built forests for the tabular serving tests: no model file needed.
enum TabularFixtures {
    /// Two features (x, y), three classes: class 0 when x <= 0, else class 1 when y <= 0,
    /// else class 2; a second tree adds a little to class 2 when y > 1, so probabilities vary.
    static func classifierModel() -> ForestModel {
        let first = DecisionTree(nodes: [
            .split(NumericSplit(feature: 0, threshold: 0, rule: .lessOrEqual, nanGoesTrue: true, whenTrue: 1, whenFalse: 2)),
            .leaf([LeafValue(output: 0, value: 2)]),
            .split(NumericSplit(feature: 1, threshold: 0, rule: .lessOrEqual, nanGoesTrue: false, whenTrue: 3, whenFalse: 4)),
            .leaf([LeafValue(output: 1, value: 2)]),
            .leaf([LeafValue(output: 2, value: 2)]),
        ])
        let second = DecisionTree(nodes: [
            .split(NumericSplit(feature: 1, threshold: 1, rule: .lessOrEqual, nanGoesTrue: true, whenTrue: 1, whenFalse: 2)),
            .leaf([LeafValue(output: 0, value: 0)]),
            .leaf([LeafValue(output: 2, value: 0.5)]),
        ])
        return ForestModel(
            format: .onnx, featureCount: 2, featureNames: nil, inputName: "input", outputCount: 3,
            trees: [first, second], splitPrecision: .float32, accumulation: .float32,
            head: .classification(labels: .integers([0, 1, 2]), scores: .perClass(.softmax)))
    }

    /// One feature; the value is 10 * x rounded by a split at 0.5.
    static func regressorModel() -> ForestModel {
        let tree = DecisionTree(nodes: [
            .split(NumericSplit(feature: 0, threshold: 0.5, rule: .lessOrEqual, nanGoesTrue: true, whenTrue: 1, whenFalse: 2)),
            .leaf([LeafValue(output: 0, value: 1)]),
            .leaf([LeafValue(output: 0, value: 10)]),
        ])
        return ForestModel(
            format: .lightgbm, featureCount: 1, featureNames: ["x"], outputCount: 1, trees: [tree],
            splitPrecision: .float64, accumulation: .float64, head: .regression(.identity))
    }

    static func served(
        _ model: ForestModel = classifierModel(), backend: String = "toy", featureNames: [String]? = ["x", "y"],
        classLabels: [ClassLabel]? = [.name("low"), .name("mid"), .name("high")], version: String = "1",
        batchWaitMicros: Int = 200, maxBatchRows: Int = 1024, inlineMaxMicros: Int = 0
    ) -> ServedForest {
        var spec = ForestModelSpec(path: "/nonexistent/\(backend).onnx", version: version)
        spec.batchWaitMicros = batchWaitMicros
        spec.maxBatchRows = maxBatchRows
        spec.inlineMaxMicros = inlineMaxMicros
        return ServedForest(
            backend: backend, spec: spec, model: model,
            identity: CacheKey(words: (UInt64(backend.utf8.count), 2, 3, 4)),
            fingerprint: FileFingerprint(path: spec.path),
            featureNames: model.featureNames ?? featureNames,
            classLabels: model.head.isClassifier ? classLabels : nil,
            metrics: TabularMetrics(registry: PrometheusCollectorRegistry()))
    }
}
