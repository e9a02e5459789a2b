import Foundation

extension Head {
    /// Turns accumulated scores into the row's answer.
    public func finish(scores: [Double]) -> ForestPrediction {
        var answer = [Double](repeating: 0, count: answerWidth(outputCount: scores.count))
        let label = scores.withUnsafeBufferPointer { scores in
            answer.withUnsafeMutableBufferPointer { finish(scores: scores, into: $0) }
        }
        return isClassifier
            ? .classification(labelIndex: label, probabilities: answer)
            : .regression(values: answer)
    }

    /// Writes the row's probabilities (or regression values) into `answer` and returns the
    /// label index (0 for regressors). Allocates nothing: the batch path calls it per row.
    public func finish(scores: UnsafeBufferPointer<Double>, into answer: UnsafeMutableBufferPointer<Double>) -> Int {
        switch self {
        case .regression(let transform):
            transform.apply(scores, into: answer)
            return 0
        case .classification(_, .perClass(let transform)):
            transform.apply(scores, into: answer)
            return Head.firstMaximum(answer)
        case .classification(_, .binary(let transform, let negative, let positiveAbove)):
            let score = scores[0]
            let positive = transform.apply(toScalar: score)
            switch negative {
            case .complement: answer[0] = 1 - positive
            case .transformOfNegated: answer[0] = transform.apply(toScalar: -score)
            }
            answer[1] = positive
            return score > positiveAbove ? 1 : 0
        }
    }

    /// Number of values each row's answer holds (probabilities per class, or regression targets).
    public func answerWidth(outputCount: Int) -> Int {
        switch self {
        case .regression: outputCount
        case .classification(let labels, _): labels.count
        }
    }

    public var isClassifier: Bool {
        if case .classification = self { return true }
        return false
    }

    static func firstMaximum(_ values: UnsafeMutableBufferPointer<Double>) -> Int {
        var best = 0
        for index in values.indices.dropFirst() where values[index] > values[best] {
            best = index
        }
        return best
    }
}

extension PostTransform {
    /// Transforms `scores` into `answer` (same count).
    public func apply(_ scores: UnsafeBufferPointer<Double>, into answer: UnsafeMutableBufferPointer<Double>) {
        switch self {
        case .softmax, .softmaxZero:
            let keepsZero = self == .softmaxZero
            var top = -Double.infinity
            for score in scores { top = max(top, score) }
            var total = 0.0
            for index in scores.indices {
                let value = keepsZero && scores[index] == 0 ? 0 : exp(scores[index] - top)
                answer[index] = value
                total += value
            }
            if total > 0 {
                for index in scores.indices { answer[index] /= total }
            }
        default:
            for index in scores.indices { answer[index] = apply(toScalar: scores[index]) }
        }
    }

    /// The element-wise transforms; softmax of one value is 1.
    public func apply(toScalar x: Double) -> Double {
        switch self {
        case .identity: x
        case .logistic(let scale): 1 / (1 + exp(-scale * x))
        case .softmax, .softmaxZero: 1
        case .probit: 2.squareRoot() * inverseErf(2 * x - 1)
        case .exponential: exp(x)
        }
    }
}

/// Inverse error function: Giles' single-precision approximation refined by two Newton
/// steps on `erf`, which brings it to double precision.
func inverseErf(_ y: Double) -> Double {
    if y <= -1 { return -.infinity }
    if y >= 1 { return .infinity }
    var w = -log((1 - y) * (1 + y))
    var x: Double
    if w < 5 {
        w -= 2.5
        var p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
        x = p * y
    } else {
        w = w.squareRoot() - 3
        var p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
        x = p * y
    }
    for _ in 0..<2 {
        let error = erf(x) - y
        x -= error / (2 / Double.pi.squareRoot() * exp(-x * x))
    }
    return x
}
