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
            // onnxruntime's SOFTMAX_ZERO treats any score within 1e-7f of zero as zero: it is
            // scaled by exp(-max) instead of exponentiated and stays out of the sum.
            let nearZero = self == .softmaxZero ? Double(Float(1e-7)) : -1
            var top = -Double.infinity
            for score in scores { top = max(top, score) }
            var total = 0.0
            for index in scores.indices {
                let score = scores[index]
                if abs(score) <= nearZero {
                    answer[index] = score * exp(-top)
                } else {
                    answer[index] = exp(score - top)
                    total += answer[index]
                }
            }
            if total > 0 {
                for index in scores.indices { answer[index] /= total }
            }
        case .roundedToFloat(let inner):
            inner.apply(scores, into: answer)
            for index in answer.indices { answer[index] = Double(Float(answer[index])) }
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
        case .probit: Double(onnxProbit(Float(x)))
        case .exponential: exp(x)
        case .roundedToFloat(let inner): Double(Float(inner.apply(toScalar: x)))
        }
    }
}

/// onnxruntime's PROBIT, `sqrt(2) * erfinv(2x - 1)` with erfinv taken from Winitzki's
/// approximation in float, as `ComputeProbit`/`ErfInv` in its ml_common.h compute it. The
/// approximation is off the true inverse by up to about 1e-4, so an exact erfinv would not
/// match onnxruntime's outputs; this does, to float rounding.
func onnxProbit(_ value: Float) -> Float {
    var x = 2 * value - 1
    let sign: Float = x < 0 ? -1 : 1
    x = (1 - x) * (1 + x)
    let logarithm = log(x)
    let a: Float = 0.147
    // M_PI rounded to nearest, as static_cast<float> does (Float.pi is rounded down).
    let v = 2 / (Float(Double.pi) * a) + 0.5 * logarithm
    let v2 = 1 / a * logarithm
    let v3 = -v + (v * v - v2).squareRoot()
    return Float(2.0.squareRoot()) * (sign * v3.squareRoot())
}
