/// A tree ensemble as every loader produces it, independent of the file format.
///
/// Loaders (`ONNXForestLoader`, `XGBoostLoader`, `LightGBMLoader`) translate their format's
/// rules into this one model exactly: which side a NaN takes, whether a comparison is `<` or
/// `<=`, in which precision features are compared and scores summed, when the base score is
/// added. `ReferenceEvaluator` walks it node by node and is the definition of what the model
/// computes; `CompiledForest` is the fast form and must agree with it bit for bit.
public struct ForestModel: Sendable {
    /// Where the model came from, for messages and `/v2/models/{name}`.
    public var format: ForestFormat
    /// Number of input features a row must have.
    public var featureCount: Int
    /// Feature names when the file carries them (LightGBM and XGBoost do; ONNX does not).
    public var featureNames: [String]?
    /// The graph input's name when the format has one (ONNX), for `/v2/models/{name}`.
    public var inputName: String?
    /// Number of scores the trees accumulate (classes, regression targets, or 1 for a binary
    /// classifier that scores only the positive class).
    public var outputCount: Int
    public var trees: [DecisionTree]
    /// Added to each output's score; empty means zeros.
    public var baseScores: [Double]
    public var baseTiming: BaseTiming
    public var aggregation: Aggregation
    /// Precision in which a feature is compared with a threshold: float32 models round each
    /// input to the nearest `Float` first, as the reference libraries do.
    public var splitPrecision: Precision
    /// Precision in which leaf values are summed, in tree order.
    public var accumulation: Precision
    public var head: Head

    public init(
        format: ForestFormat,
        featureCount: Int,
        featureNames: [String]? = nil,
        inputName: String? = nil,
        outputCount: Int,
        trees: [DecisionTree],
        baseScores: [Double] = [],
        baseTiming: BaseTiming = .afterTrees,
        aggregation: Aggregation = .sum,
        splitPrecision: Precision,
        accumulation: Precision,
        head: Head
    ) {
        self.format = format
        self.featureCount = featureCount
        self.featureNames = featureNames
        self.inputName = inputName
        self.outputCount = outputCount
        self.trees = trees
        self.baseScores = baseScores
        self.baseTiming = baseTiming
        self.aggregation = aggregation
        self.splitPrecision = splitPrecision
        self.accumulation = accumulation
        self.head = head
    }
}

public enum ForestFormat: String, Sendable, CaseIterable {
    case onnx
    case xgboost
    case lightgbm
}

public enum Precision: Sendable {
    case float32
    case float64
}

/// When `baseScores` join the sum. It matters in float32, where addition does not associate:
/// XGBoost starts from the base margin, onnxruntime adds the base after the trees.
public enum BaseTiming: Sendable {
    case beforeTrees
    case afterTrees
}

public enum Aggregation: Sendable {
    /// Scores are the sum of the leaves reached.
    case sum
    /// Scores are the sum divided by the number of trees (onnxruntime's `AVERAGE`), then the
    /// base is added.
    case average
}

/// What turns accumulated scores into the answer.
public enum Head: Sendable {
    /// Values are `transform(scores)`, one per output.
    case regression(PostTransform)
    case classification(labels: ClassLabels, scores: ClassScores)
}

public enum ClassLabels: Sendable, Equatable {
    case integers([Int64])
    case strings([String])

    public var count: Int {
        switch self {
        case .integers(let labels): labels.count
        case .strings(let labels): labels.count
        }
    }
}

/// How class probabilities come out of the accumulated scores.
public enum ClassScores: Sendable {
    /// One score per class (`outputCount == labels.count`); probabilities are
    /// `transform(scores)`; the label is the first class with the highest probability.
    case perClass(PostTransform)
    /// Two classes, one accumulated score `s` for the positive (second) class.
    /// `p1 = transform(s)`; `p0` as `negative` says. The label is the positive class when
    /// `s > positiveAbove` (compared on the raw score, before the transform).
    case binary(PostTransform, negative: BinaryNegative, positiveAbove: Double)
}

public enum BinaryNegative: Sendable {
    /// `p0 = 1 - p1` (XGBoost, LightGBM, onnxruntime when all weights are non-negative).
    case complement
    /// `p0 = transform(-s)` (onnxruntime's binary case with signed weights).
    case transformOfNegated
}

public enum PostTransform: Sendable, Equatable {
    case identity
    /// `1 / (1 + exp(-scale * x))`.
    case logistic(scale: Double)
    /// Softmax over all outputs.
    case softmax
    /// Softmax where a score within 1e-7 of 0 stays (about) 0 (onnxruntime's `SOFTMAX_ZERO`).
    case softmaxZero
    /// `sqrt(2) * erfinv(2x - 1)` with onnxruntime's approximate erfinv (its `PROBIT`).
    case probit
    /// `exp(x)` (LightGBM's poisson/gamma/tweedie objectives).
    case exponential
    /// The inner transform, then each value rounded to the nearest `Float`: onnxruntime's
    /// TreeEnsembleRegressor sums a DOUBLE input's trees in double but writes a float tensor.
    indirect case roundedToFloat(PostTransform)
}

/// One tree: nodes in any order, the root first.
public struct DecisionTree: Sendable {
    public var nodes: [TreeNode]

    public init(nodes: [TreeNode]) {
        self.nodes = nodes
    }
}

public enum TreeNode: Sendable {
    case split(NumericSplit)
    case categorical(CategoricalSplit)
    case leaf([LeafValue])
}

/// `x` goes to `whenTrue` when `x <rule> threshold` holds, else to `whenFalse`.
/// A NaN goes where `nanGoesTrue` says; with `zeroIsMissing`, so does any
/// `|x| <= Float(1e-35)` (LightGBM's `zero_as_missing`; its `kZeroThreshold` is a float
/// literal). Child indices point into the same tree's `nodes`.
public struct NumericSplit: Sendable {
    public var feature: Int
    public var threshold: Double
    public var rule: SplitRule
    public var nanGoesTrue: Bool
    public var zeroIsMissing: Bool
    public var whenTrue: Int
    public var whenFalse: Int

    public init(
        feature: Int, threshold: Double, rule: SplitRule, nanGoesTrue: Bool,
        zeroIsMissing: Bool = false, whenTrue: Int, whenFalse: Int
    ) {
        self.feature = feature
        self.threshold = threshold
        self.rule = rule
        self.nanGoesTrue = nanGoesTrue
        self.zeroIsMissing = zeroIsMissing
        self.whenTrue = whenTrue
        self.whenFalse = whenFalse
    }
}

public enum SplitRule: Sendable {
    case lessOrEqual
    case less
    case greaterOrEqual
    case greater
    case equal
    case notEqual
}

/// `x` goes to `whenMember` when it is a non-negative integer category in `categories`
/// (truncated toward zero, as `static_cast<int>` does), else to `whenOther`; NaN goes where
/// `nanGoesMember` says. Float32 models round `x` to `Float` before truncating it.
public struct CategoricalSplit: Sendable {
    public var feature: Int
    public var categories: Set<Int>
    public var nanGoesMember: Bool
    /// Whether a value in (-1, 0) is no category at all (XGBoost refuses any negative value)
    /// rather than category 0 (LightGBM's and onnxruntime's truncation).
    public var negativeIsOther: Bool
    public var whenMember: Int
    public var whenOther: Int

    public init(
        feature: Int, categories: Set<Int>, nanGoesMember: Bool, negativeIsOther: Bool = false,
        whenMember: Int, whenOther: Int
    ) {
        self.feature = feature
        self.categories = categories
        self.nanGoesMember = nanGoesMember
        self.negativeIsOther = negativeIsOther
        self.whenMember = whenMember
        self.whenOther = whenOther
    }
}

/// A leaf adds `value` to output `output`. A leaf may feed several outputs (onnxruntime
/// classifiers) and they are added in the order listed.
public struct LeafValue: Sendable, Equatable {
    public var output: Int
    public var value: Double

    public init(output: Int, value: Double) {
        self.output = output
        self.value = value
    }
}

/// What the engine returns for one row.
public enum ForestPrediction: Sendable, Equatable {
    case classification(labelIndex: Int, probabilities: [Double])
    case regression(values: [Double])
}
