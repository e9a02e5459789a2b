import Foundation
import LocalModels

/// llama.cpp's answers for one vocabulary, as scripts/tokenizer_fixtures.py wrote them (tokenizer_cases.json).
struct TokenizerReference: Decodable {
    struct Case: Decodable {
        var text: String
        var add_special: Bool
        var parse_special: Bool
        var ids: [Int32]
        /// llama_detokenize(ids, special: false / true), hex; stored for half of the cases.
        var decoded: String?
        var decoded_special: String?
    }

    var file: String
    var n_vocab: Int
    var bos: Int32?
    var eos: Int32?
    var eot: Int32?
    var pad: Int32?
    var add_bos: Bool
    var add_eos: Bool
    var eog: [Int32]
    var pieces: [String]?
    var pieces_special: [String]?
    var cases: [Case]

    static func load(_ file: String) throws -> [String: TokenizerReference] {
        try JSONDecoder().decode([String: TokenizerReference].self, from: Data(contentsOf: URL(fileURLWithPath: file)))
    }

    static let fixtures: [String: TokenizerReference] = {
        try! load(TransformerFixtures.path("tokenizer/tokenizer_cases.json"))
    }()

    /// Every difference between `tokenizer` and llama.cpp, described; empty when they agree.
    func differences(_ tokenizer: Tokenizer, limit: Int = 10) -> [String] {
        var found: [String] = []
        func note(_ text: @autoclosure () -> String) {
            if found.count < limit { found.append(text()) }
        }
        if tokenizer.vocabularySize != n_vocab { note("vocabulary size \(tokenizer.vocabularySize) != \(n_vocab)") }
        if tokenizer.bos != bos { note("bos \(String(describing: tokenizer.bos)) != \(String(describing: bos))") }
        if tokenizer.eos != eos { note("eos \(String(describing: tokenizer.eos)) != \(String(describing: eos))") }
        // llama.cpp finds eot by name while walking a hash map, so with several candidates its pick is arbitrary;
        // any end-of-generation token is an acceptable answer then.
        if tokenizer.eot != eot && !(eot != nil && tokenizer.eot.map(eog.contains) == true) {
            note("eot \(String(describing: tokenizer.eot)) != \(String(describing: eot))")
        }
        if tokenizer.pad != pad { note("pad \(String(describing: tokenizer.pad)) != \(String(describing: pad))") }
        if tokenizer.addsBOS != add_bos || tokenizer.addsEOS != add_eos { note("add_bos/add_eos differ") }
        let eogs = (0 ..< Int32(tokenizer.vocabularySize)).filter(tokenizer.isEndOfGeneration)
        if eogs != eog { note("end-of-generation ids \(eogs) != \(eog)") }
        for (special, expected) in [(false, pieces), (true, pieces_special)] {
            guard let expected else { continue }
            for (id, hex) in expected.enumerated() where Self.hex(tokenizer.piece(Int32(id), special: special)) != hex {
                let ours = Self.hex(tokenizer.piece(Int32(id), special: special))
                note("piece(\(id), special: \(special)) = \(ours) != \(hex)")
            }
        }
        for c in cases {
            let ids = tokenizer.encode(c.text, addSpecial: c.add_special, parseSpecial: c.parse_special)
            if ids != c.ids {
                note("encode(\(c.text.debugDescription), addSpecial: \(c.add_special), "
                    + "parseSpecial: \(c.parse_special)) = \(ids), llama.cpp \(c.ids)")
            }
            for (special, hex) in [(false, c.decoded), (true, c.decoded_special)] {
                guard let hex else { continue }
                let bytes = tokenizer.decodeBytes(c.ids, special: special)
                if Self.hex(bytes) != hex {
                    note("decode(\(c.ids), special: \(special)) = \(Self.hex(bytes)) != \(hex) "
                        + "for \(c.text.debugDescription)")
                }
            }
        }
        return found
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
