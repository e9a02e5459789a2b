/// What a tree operator's attributes say, in one form for TreeEnsembleClassifier/Regressor
/// (ai.onnx.ml 1-4) and TreeEnsemble (ai.onnx.ml 5), before the head is chosen.
struct ONNXEnsemble {
    enum Operator: String {
        case classifier = "TreeEnsembleClassifier"
        case regressor = "TreeEnsembleRegressor"
        case treeEnsemble = "TreeEnsemble"
    }

    /// onnxruntime's `POST_EVAL_TRANSFORM`.
    enum Transform: String {
        case none = "NONE"
        case logistic = "LOGISTIC"
        case softmax = "SOFTMAX"
        case softmaxZero = "SOFTMAX_ZERO"
        case probit = "PROBIT"
    }

    var op: Operator
    /// The type the tree compares and sums in.
    var elementType: ONNXElementType
    var nodes: EnsembleNodes
    /// Classes or regression targets the leaves add to.
    var outputCount: Int
    var baseValues: [Double]
    var aggregation: Aggregation
    var transform: Transform
    /// Set for TreeEnsembleClassifier only.
    var classLabels: ClassLabels?
    /// Every distinct class id the leaf weights name (onnxruntime's binary-case test).
    var weightClassIDs: Set<Int> = []
    /// No class weight below zero (onnxruntime's `weights_are_all_positive_`).
    var weightsNonNegative: Bool = true
    /// One past the highest feature a reachable split reads.
    var featureBound: Int = 0
}

extension ONNXEnsemble.Operator {
    /// The ai.onnx.ml opset versions in which onnxruntime registers the operator.
    var opsetRange: ClosedRange<Int64> {
        switch self {
        case .classifier, .regressor: 1...4
        case .treeEnsemble: 5...Int64.max
        }
    }
}

/// How tree nodes hold their numbers: the tree operator's element type, which is the type of
/// the tensor it receives. onnxruntime compares and sums in it (`ThresholdType`).
enum ONNXElementType: Equatable {
    case float
    case double

    init?(dataType: Int32) {
        switch dataType {
        case ONNXProto.DataType.float: self = .float
        case ONNXProto.DataType.double: self = .double
        default: return nil
        }
    }

    var dataType: Int32 {
        switch self {
        case .float: ONNXProto.DataType.float
        case .double: ONNXProto.DataType.double
        }
    }

    var precision: Precision {
        switch self {
        case .float: .float32
        case .double: .float64
        }
    }

    /// A FLOAT attribute as onnxruntime keeps it: widened to double, or kept as float.
    func stored(_ value: Double) -> Double {
        switch self {
        case .float: Double(Float(value))
        case .double: value
        }
    }
}
