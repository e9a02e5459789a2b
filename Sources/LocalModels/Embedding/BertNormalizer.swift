import Foundation

/// Hugging Face `tokenizers`' `BertNormalizer` (clean text, CJK spacing, accent stripping, lowercasing) and
/// `BertPreTokenizer` (split on whitespace, isolate punctuation), on Unicode scalars.
///
/// Character classes follow the Rust implementation, which differs from Python's `BertTokenizer` in places:
/// a control is Cc (but tab, newline and carriage return), Cf or Co, and is dropped even when it is also
/// whitespace (U+000B, U+000C, U+0085); whitespace is the White_Space property; unassigned code points are kept.
enum BertNormalizer {
    /// The words of `text`, normalised.
    static func words(of text: Substring.UnicodeScalarView, lowercase: Bool, stripAccents: Bool) -> [[Unicode.Scalar]] {
        let scalars = normalize(text, lowercase: lowercase, stripAccents: stripAccents)
        return split(scalars)
    }

    static func normalize(
        _ text: Substring.UnicodeScalarView,
        lowercase: Bool,
        stripAccents: Bool
    ) -> [Unicode.Scalar] {
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(text.count)
        var ascii = true
        for scalar in text {
            let value = scalar.value
            if value < 0x80 {
                if value == 0x09 || value == 0x0A || value == 0x0D || value == 0x20 {
                    cleaned.append(" ")
                } else if value < 0x20 || value == 0x7F {
                    continue  // C0 controls and DEL
                } else {
                    cleaned.append(scalar)
                }
                continue
            }
            ascii = false
            if value == 0xFFFD || isControl(scalar) { continue }
            if scalar.properties.isWhitespace {
                cleaned.append(" ")
            } else if isChineseCharacter(value) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        if ascii {
            if lowercase {
                for i in cleaned.indices where cleaned[i].value >= 0x41 && cleaned[i].value <= 0x5A {
                    cleaned[i] = Unicode.Scalar(cleaned[i].value + 0x20)!
                }
            }
            return cleaned
        }
        var result = cleaned
        if stripAccents {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: cleaned)
            let decomposed = String(view).decomposedStringWithCanonicalMapping
            result = decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(result.count)
            for scalar in result {
                if scalar.value < 0x80 {
                    let v = scalar.value
                    lowered.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 0x20)! : scalar)
                } else {
                    lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                }
            }
            result = lowered
        }
        return result
    }

    /// Splits on whitespace (dropped) and around punctuation (each its own word).
    static func split(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in scalars {
            if scalar == " " || (scalar.value >= 0x80 && scalar.properties.isWhitespace) {
                if !current.isEmpty {
                    words.append(current)
                    current.removeAll(keepingCapacity: true)
                }
            } else if isPunctuation(scalar) {
                if !current.isEmpty {
                    words.append(current)
                    current.removeAll(keepingCapacity: true)
                }
                words.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Cc (but tab, newline, carriage return), Cf, Co.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return false
        default: break
        }
        switch scalar.properties.generalCategory {
        case .control, .format, .privateUse: return true
        default: return false
        }
    }

    /// ASCII punctuation (which includes $ + < = > ^ ` | ~) or any Unicode P* category.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 {
            return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph blocks BERT spaces out (the Rust tokenizer's ranges, 0x2B920 where Python has 0x2B820).
    static func isChineseCharacter(_ v: UInt32) -> Bool {
        (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x20000 && v <= 0x2A6DF)
            || (v >= 0x2A700 && v <= 0x2B73F) || (v >= 0x2B740 && v <= 0x2B81F) || (v >= 0x2B920 && v <= 0x2CEAF)
            || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0x2F800 && v <= 0x2FA1F)
    }
}
