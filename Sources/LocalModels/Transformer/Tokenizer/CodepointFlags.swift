/// The character classes llama.cpp's pre-tokenizers test (`unicode_cpt_flags` in unicode.h): one category bit
/// (\p{N}, \p{L}, \p{Z}, \p{M}, \p{P}, \p{S}, \p{C}, or undefined for unassigned) plus \s.
///
/// Categories come from `Unicode.Scalar.Properties.generalCategory`, with one correction: llama.cpp's table is
/// Unicode 15.1, so scalars assigned later (`assignedAfterUnicode15_1`) count as unassigned there, and here too;
/// otherwise a newer Swift would split such text differently. Whitespace is the Unicode White_Space property, which
/// is exactly llama.cpp's `unicode_set_whitespace`.
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    static let undefined = CodepointFlags(rawValue: 0x0001)
    static let number = CodepointFlags(rawValue: 0x0002)
    static let letter = CodepointFlags(rawValue: 0x0004)
    static let separator = CodepointFlags(rawValue: 0x0008)
    static let accentMark = CodepointFlags(rawValue: 0x0010)
    static let punctuation = CodepointFlags(rawValue: 0x0020)
    static let symbol = CodepointFlags(rawValue: 0x0040)
    static let control = CodepointFlags(rawValue: 0x0080)
    static let whitespace = CodepointFlags(rawValue: 0x0100)

    static let categories = CodepointFlags(rawValue: 0x00FF)

    init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// The flags of `scalar`, from a table for the Basic Multilingual Plane and computed above it.
    static func of(_ scalar: UInt32) -> CodepointFlags {
        if scalar < 0x10000 { return CodepointFlags(rawValue: basicPlane[Int(scalar)]) }
        return compute(scalar)
    }

    /// Flags of U+0000...U+FFFF, built once (about 65k property lookups) because text is mostly in this plane.
    private static let basicPlane: [UInt16] = (0 ..< 0x10000).map { compute(UInt32($0)).rawValue }

    private static func compute(_ value: UInt32) -> CodepointFlags {
        guard let scalar = Unicode.Scalar(value) else {
            return value < 0x110000 ? .control : .undefined  // surrogates are Cs in llama.cpp's table
        }
        let properties = scalar.properties
        var flags = category(properties.generalCategory)
        if flags != .undefined && isAssignedAfterUnicode15_1(value) { flags = .undefined }
        if properties.isWhitespace { flags.insert(.whitespace) }
        return flags
    }

    private static func category(_ category: Unicode.GeneralCategory) -> CodepointFlags {
        switch category {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: .letter
        case .nonspacingMark, .spacingMark, .enclosingMark: .accentMark
        case .decimalNumber, .letterNumber, .otherNumber: .number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: .symbol
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: .separator
        case .control, .format, .surrogate, .privateUse: .control
        case .unassigned: .undefined
        @unknown default: .undefined
        }
    }

    private static func isAssignedAfterUnicode15_1(_ value: UInt32) -> Bool {
        var low = 0
        var high = assignedAfterUnicode15_1.count
        while low < high {
            let mid = (low + high) / 2
            if assignedAfterUnicode15_1[mid].last < value { low = mid + 1 } else { high = mid }
        }
        return low < assignedAfterUnicode15_1.count && assignedAfterUnicode15_1[low].first <= value
    }

    /// Ranges unassigned in llama.cpp's unicode-data.cpp but assigned in Swift's Unicode data (found by comparing
    /// every scalar; the test `CodepointFlagsTests` checks the table against llama.cpp's range list).
    private static let assignedAfterUnicode15_1: [(first: UInt32, last: UInt32)] = [
        (0x88F, 0x88F), (0x897, 0x897), (0xC5C, 0xC5C), (0xCDC, 0xCDC), (0x1ACF, 0x1ADD), (0x1AE0, 0x1AEB),
        (0x1B4E, 0x1B4F), (0x1B7F, 0x1B7F), (0x1C89, 0x1C8A), (0x20C1, 0x20C1), (0x2427, 0x2429), (0x2B96, 0x2B96),
        (0x31E4, 0x31E5), (0xA7CB, 0xA7CF), (0xA7D2, 0xA7D2), (0xA7D4, 0xA7D4), (0xA7DA, 0xA7DC), (0xA7F1, 0xA7F1),
        (0xFBC3, 0xFBD2), (0xFD90, 0xFD91), (0xFDC8, 0xFDCE), (0x105C0, 0x105F3), (0x10940, 0x10959),
        (0x10D40, 0x10D65), (0x10D69, 0x10D85), (0x10D8E, 0x10D8F), (0x10EC2, 0x10EC7), (0x10ED0, 0x10ED8),
        (0x10EFA, 0x10EFC), (0x11380, 0x11389), (0x1138B, 0x1138B), (0x1138E, 0x1138E), (0x11390, 0x113B5),
        (0x113B7, 0x113C0), (0x113C2, 0x113C2), (0x113C5, 0x113C5), (0x113C7, 0x113CA), (0x113CC, 0x113D5),
        (0x113D7, 0x113D8), (0x113E1, 0x113E2), (0x116D0, 0x116E3), (0x11B60, 0x11B67), (0x11BC0, 0x11BE1),
        (0x11BF0, 0x11BF9), (0x11DB0, 0x11DDB), (0x11DE0, 0x11DE9), (0x11F5A, 0x11F5A), (0x13460, 0x143FA),
        (0x16100, 0x16139), (0x16D40, 0x16D79), (0x16EA0, 0x16EB8), (0x16EBB, 0x16ED3), (0x16FF2, 0x16FF6),
        (0x187F8, 0x187FF), (0x18CFF, 0x18CFF), (0x18D09, 0x18D1E), (0x18D80, 0x18DF2), (0x1CC00, 0x1CCFC),
        (0x1CD00, 0x1CEB3), (0x1CEBA, 0x1CED0), (0x1CEE0, 0x1CEF0), (0x1E5D0, 0x1E5FA), (0x1E5FF, 0x1E5FF),
        (0x1E6C0, 0x1E6DE), (0x1E6E0, 0x1E6F5), (0x1E6FE, 0x1E6FF), (0x1F6D8, 0x1F6D8), (0x1F777, 0x1F77A),
        (0x1F8B2, 0x1F8BB), (0x1F8C0, 0x1F8C1), (0x1F8D0, 0x1F8D8), (0x1FA54, 0x1FA57), (0x1FA89, 0x1FA8A),
        (0x1FA8E, 0x1FA8F), (0x1FABE, 0x1FABE), (0x1FAC6, 0x1FAC6), (0x1FAC8, 0x1FAC8), (0x1FACD, 0x1FACD),
        (0x1FADC, 0x1FADC), (0x1FADF, 0x1FADF), (0x1FAE9, 0x1FAEA), (0x1FAEF, 0x1FAEF), (0x1FBCB, 0x1FBEF),
        (0x1FBFA, 0x1FBFA), (0x2B73A, 0x2B73F), (0x2CEA2, 0x2CEAD), (0x323B0, 0x33479),
    ]
}
