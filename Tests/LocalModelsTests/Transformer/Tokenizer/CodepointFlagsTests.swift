import Foundation
import Testing

@testable import LocalModels

/// The character classes the pre-tokenizers use agree with llama.cpp's table (unicode_flags.json, extracted from
/// its unicode-data.cpp by scripts/tokenizer_fixtures.py --extract): at both ends and the middle of every range.
@Suite struct CodepointFlagsTests {
    struct Table: Decodable {
        var ranges: [[UInt32]]
        var whitespace: [UInt32]
    }

    @Test func matchesLlamaCppTable() throws {
        let table = try JSONDecoder().decode(Table.self, from: TransformerFixtures.data("tokenizer/unicode_flags.json"))
        let whitespace = Set(table.whitespace)
        var differences: [String] = []
        for (range, next) in zip(table.ranges, table.ranges.dropFirst()) {
            let first = range[0]
            let last = next[0] - 1
            for scalar in Set([first, first + (last - first) / 2, last]) {
                var expected = UInt16(range[1])
                if whitespace.contains(scalar) { expected |= CodepointFlags.whitespace.rawValue }
                let ours = CodepointFlags.of(scalar).rawValue
                if ours != expected && differences.count < 10 {
                    differences.append("U+\(String(scalar, radix: 16)): \(ours) != \(expected)")
                }
            }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
}
