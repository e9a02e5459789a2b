/// One `decision_type` entry of a LightGBM tree, and the numeric split it means.
///
/// `Tree::NumericalDecision` on a double `x`: with missing type NaN, a NaN takes the default
/// side; with missing type Zero, a NaN and any `|x| <= kZeroThreshold` do; with None, a NaN
/// is read as 0.0; everything else goes left iff `x <= threshold`. Before any of that, the C
/// API that `Booster.predict` feeds drops every `|x| <= kZeroThreshold` from the row, so the
/// tree sees 0.0 for it. The splits below say exactly that, in forms the compiled kernel can
/// run wherever one exists.
struct LightGBMDecision: Equatable {
    enum MissingType: Equatable {
        case none
        case zero
        case nan
    }

    var isCategorical: Bool
    var defaultLeft: Bool
    var missingType: MissingType

    /// Nil for values LightGBM never writes: bits above the four it defines, or missing
    /// type 3.
    init?(_ raw: Int) {
        guard (0...15).contains(raw) else { return nil }
        isCategorical = raw & 1 != 0
        defaultLeft = raw & 2 != 0
        switch raw >> 2 {
        case 0: missingType = .none
        case 1: missingType = .zero
        case 2: missingType = .nan
        default: return nil
        }
    }

    /// The split a numeric node makes, `whenTrue` being LightGBM's left child.
    func numericSplit(feature: Int, threshold t: Double, left: Int, right: Int) -> NumericSplit {
        let zero = lightGBMZeroThreshold
        func split(_ threshold: Double, nanGoesLeft: Bool, zeroIsMissing: Bool = false) -> NumericSplit {
            NumericSplit(
                feature: feature,
                threshold: threshold,
                rule: .lessOrEqual,
                nanGoesTrue: nanGoesLeft,
                zeroIsMissing: zeroIsMissing,
                whenTrue: left,
                whenFalse: right
            )
        }
        switch missingType {
        case .none:
            // A NaN is compared as 0.0, which is where `0 <= t` sends it.
            return split(Self.zeroedThreshold(t), nanGoesLeft: 0 <= t)
        case .nan:
            return split(Self.zeroedThreshold(t), nanGoesLeft: defaultLeft)
        case .zero:
            // Left is `x <= t` joined with the zero band [-kZ, kZ] (default left), or `x <= t`
            // less the band (default right). Where the result is one interval (-inf, t'] it
            // is a plain split; otherwise the evaluator tests the band itself.
            if defaultLeft && t >= -zero {
                return split(max(t, zero), nanGoesLeft: true)
            }
            if !defaultLeft && t < zero {
                return split(t < -zero ? t : (-zero).nextDown, nanGoesLeft: false)
            }
            return split(t, nanGoesLeft: defaultLeft, zeroIsMissing: true)
        }
    }

    /// A threshold that decides every row as LightGBM does once values in the zero band are
    /// read as 0.0: a threshold inside the band sends the whole band the way 0.0 goes.
    static func zeroedThreshold(_ t: Double) -> Double {
        let zero = lightGBMZeroThreshold
        guard t >= -zero, t < zero else { return t }
        return t >= 0 ? zero : (-zero).nextDown
    }
}
