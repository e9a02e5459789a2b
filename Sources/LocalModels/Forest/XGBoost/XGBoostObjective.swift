import Foundation

/// What an XGBoost objective means at inference: the head that turns margins into answers and
/// the link that turns `base_score` (written in output space) into the starting margin.
enum XGBoostObjective: Equatable {
    /// `binary:logistic`: one margin, `p = sigmoid(margin)`.
    case binaryLogistic
    /// `binary:logitraw`: the margin itself, as `Booster.predict` returns it.
    case binaryLogitRaw
    /// `reg:logistic`: `sigmoid(margin)` as a regression value.
    case logisticRegression
    /// `multi:softprob` and `multi:softmax`: softmax over one margin per class.
    case softmax
    /// Squared, absolute, pseudo-Huber, squared-log and quantile errors, ranking: the margin.
    case identity
    /// `count:poisson`, `reg:gamma`, `reg:tweedie`: `exp(margin)`.
    case exponential

    init?(name: String) {
        switch name {
        case "binary:logistic": self = .binaryLogistic
        case "binary:logitraw": self = .binaryLogitRaw
        case "reg:logistic": self = .logisticRegression
        case "multi:softprob", "multi:softmax": self = .softmax
        case "reg:squarederror", "reg:linear", "reg:absoluteerror", "reg:pseudohubererror",
            "reg:squaredlogerror", "reg:quantileerror", "rank:pairwise", "rank:ndcg", "rank:map":
            self = .identity
        case "count:poisson", "reg:gamma", "reg:tweedie": self = .exponential
        default: return nil
        }
    }

    static let supportedNames = [
        "binary:logistic", "binary:logitraw", "reg:logistic", "multi:softprob", "multi:softmax",
        "reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "reg:squaredlogerror",
        "reg:quantileerror", "rank:*", "count:poisson", "reg:gamma", "reg:tweedie",
    ]

    func head(outputCount: Int) -> Head {
        switch self {
        case .binaryLogistic:
            .classification(
                labels: .integers([0, 1]),
                scores: .binary(.logistic(scale: 1), negative: .complement, positiveAbove: 0)
            )
        case .softmax:
            .classification(labels: .integers((0..<outputCount).map(Int64.init)), scores: .perClass(.softmax))
        case .logisticRegression: .regression(.logistic(scale: 1))
        case .binaryLogitRaw, .identity: .regression(.identity)
        case .exponential: .regression(.exponential)
        }
    }

    /// The objective's `ProbToMargin`, in float32 as XGBoost computes it: the base margin is
    /// summed with the leaves in float32, so one ulp here shows in the answer.
    /// `nil` when `baseScore` is outside the link's domain.
    func margin(fromBaseScore baseScore: Float) -> Float? {
        switch self {
        case .binaryLogistic, .logisticRegression:
            guard baseScore >= 0, baseScore <= 1 else { return nil }
            // XGBoost 3 clamps to (kRtEps, 1 - kRtEps); older versions refuse 0 and 1 outright.
            let epsilon: Float = 1e-6
            let probability = min(max(baseScore, epsilon), 1 - epsilon)
            return -log(1 / probability - 1)
        case .exponential:
            guard baseScore > 0 else { return nil }
            return log(baseScore)
        case .binaryLogitRaw, .softmax, .identity:
            // logitraw has treated base_score as a margin since XGBoost 1.3.1; softmax's
            // per-class intercepts (XGBoost 3.1+) are written as margins already.
            return baseScore
        }
    }

    /// What the base score must be, for messages.
    var baseScoreDomain: String {
        switch self {
        case .binaryLogistic, .logisticRegression: "a probability in [0, 1]"
        case .exponential: "positive"
        case .binaryLogitRaw, .softmax, .identity: "finite"
        }
    }
}
