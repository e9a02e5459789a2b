/// What a LightGBM objective does to the raw scores at prediction (`ConvertOutput`), read
/// from the header's `objective=` line as `ObjectiveFunction::ToString` writes it: the name,
/// then parameters (`binary sigmoid:1`, `multiclassova num_class:3 sigmoid:1`).
enum LightGBMObjective: Equatable {
    /// `binary`: one score, `p = 1 / (1 + exp(-sigmoid * s))`.
    case binary(sigmoid: Double)
    /// `multiclass`: softmax over one score per class.
    case softmax(classes: Int)
    /// `multiclassova`: a sigmoid per class, not normalised (as `predict` returns them).
    case oneVersusAll(classes: Int, sigmoid: Double)
    /// `cross_entropy`: a probability as a regression value, `1 / (1 + exp(-s))`.
    case crossEntropy
    /// Least squares, L1, Huber, Fair, quantile, MAPE and ranking: the score itself. So are
    /// models trained with a custom objective, which have no `objective=` line.
    case identity
    /// `poisson`, `gamma`, `tweedie`: `exp(s)`.
    case exponential

    static let supportedNames = [
        "binary", "multiclass", "multiclassova", "cross_entropy", "regression", "regression_l1", "huber",
        "fair", "quantile", "mape", "lambdarank", "rank_xendcg", "poisson", "gamma", "tweedie",
    ]

    /// Parses the `objective=` value; `fail` builds the located error. Only the canonical
    /// names `ToString` writes are accepted, as LightGBM's own loader does.
    init(_ text: Substring, fail: (String) -> ForestLoadError) throws(ForestLoadError) {
        let tokens = text.split(separator: " ")
        guard let name = tokens.first else { throw fail("the objective is empty") }
        var parameters: [Substring: Substring] = [:]
        for token in tokens.dropFirst() {
            let parts = token.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            parameters[parts[0]] = parts.count == 2 ? parts[1] : ""
        }
        func take(_ key: Substring) -> Substring? { parameters.removeValue(forKey: key) }
        func sigmoid() throws(ForestLoadError) -> Double {
            guard let text = take("sigmoid") else { return 1 }
            guard let value = Double(text), value.isFinite, value > 0 else {
                throw fail("sigmoid:\(text) must be a positive number")
            }
            return value
        }
        func classes() throws(ForestLoadError) -> Int {
            guard let text = take("num_class") else { throw fail("\(name) needs num_class") }
            guard let value = Int(text), value >= 2 else { throw fail("num_class:\(text) must be at least 2") }
            return value
        }
        switch name {
        case "binary": self = .binary(sigmoid: try sigmoid())
        case "multiclass": self = .softmax(classes: try classes())
        case "multiclassova": self = .oneVersusAll(classes: try classes(), sigmoid: try sigmoid())
        case "cross_entropy": self = .crossEntropy
        case "regression", "regression_l1", "huber", "fair", "quantile", "mape", "lambdarank", "rank_xendcg":
            if take("sqrt") != nil {
                // ConvertOutput then squares the score keeping its sign, a transform the engine lacks.
                throw fail("\(name) with sqrt (trained with reg_sqrt) is not supported")
            }
            self = .identity
        case "poisson", "gamma", "tweedie":
            // These objectives switch sqrt off themselves, so a stray flag changes nothing.
            _ = take("sqrt")
            self = .exponential
        default:
            throw fail(
                "objective \"\(name)\" is not supported; supported: \(Self.supportedNames.joined(separator: ", "))"
            )
        }
        if let unknown = parameters.keys.sorted().first {
            throw fail("objective parameter \"\(unknown)\" is not understood")
        }
    }

    /// The classes the objective scores, one tree per class per iteration; 1 otherwise.
    var outputCount: Int {
        switch self {
        case .softmax(let classes), .oneVersusAll(let classes, _): classes
        case .binary, .crossEntropy, .identity, .exponential: 1
        }
    }

    func head(outputCount: Int) -> Head {
        switch self {
        case .binary(let sigmoid):
            .classification(
                labels: .integers([0, 1]),
                scores: .binary(.logistic(scale: sigmoid), negative: .complement, positiveAbove: 0)
            )
        case .softmax(let classes):
            .classification(labels: .integers((0..<Int64(classes)).map { $0 }), scores: .perClass(.softmax))
        case .oneVersusAll(let classes, let sigmoid):
            .classification(
                labels: .integers((0..<Int64(classes)).map { $0 }),
                scores: .perClass(.logistic(scale: sigmoid))
            )
        case .crossEntropy: .regression(.logistic(scale: 1))
        case .identity: .regression(.identity)
        case .exponential: .regression(.exponential)
        }
    }
}
