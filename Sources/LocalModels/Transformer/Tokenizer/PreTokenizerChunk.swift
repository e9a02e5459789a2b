/// One piece of text being split by a pre-tokenizer stage: scalars `start ..< end` of the fragment.
///
/// The splitters are line-by-line ports of llama.cpp's unicode.cpp, including its quirks (positions outside the
/// piece read as "no flags", a lone space at the end of a piece is split off by the punctuation rule), because the
/// point is to produce the same words.
struct PreTokenizerChunk {
    let text: UnsafeBufferPointer<UInt32>
    let flags: UnsafeBufferPointer<CodepointFlags>
    let start: Int
    let end: Int

    private static let outOfRange = UInt32.max

    @inline(__always) private func scalar(_ pos: Int) -> UInt32 {
        pos >= start && pos < end ? text[pos] : Self.outOfRange
    }

    @inline(__always) private func flag(_ pos: Int) -> CodepointFlags {
        pos >= start && pos < end ? flags[pos] : []
    }

    /// Lengths of the tokens found, appended in order; `end` of the previous token is `previousEnd`.
    private struct Emitter {
        var previousEnd: Int

        /// llama.cpp's `_add_token`: emits `previousEnd ..< end` if not empty and returns its length.
        @discardableResult
        mutating func add(_ end: Int, _ out: inout [Int]) -> Int {
            let length = end - previousEnd
            if length > 0 { out.append(length) }
            previousEnd = end
            return length
        }
    }

    /// The contraction (`'s 't 'm 'd 're 've 'll`) starting at `pos`, as a length, or 0.
    @inline(__always) private func contraction(at pos: Int, caseInsensitive: Bool) -> Int {
        guard scalar(pos) == 0x27, pos + 1 < end else { return 0 }
        func lower(_ c: UInt32) -> UInt32 {
            caseInsensitive && c >= 0x41 && c <= 0x5A ? c + 0x20 : c
        }
        let next = lower(scalar(pos + 1))
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 }  // s t m d
        if pos + 2 < end {
            let after = lower(scalar(pos + 2))
            if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65) || (next == 0x6C && after == 0x6C) {
                return 3  // re ve ll
            }
        }
        return 0
    }

    /// llama.cpp's `unicode_regex_split_custom_gpt2`.
    func splitGPT2(into out: inout [Int]) {
        var emit = Emitter(previousEnd: start)
        var pos = start
        while pos < end {
            let c = scalar(pos)
            let f = flag(pos)
            let contractionLength = contraction(at: pos, caseInsensitive: false)
            if contractionLength > 0 {
                pos += emit.add(pos + contractionLength, &out)
                continue
            }
            let space = c == 0x20 ? 1 : 0
            var f2 = space == 1 ? flag(pos + 1) : f
            if f2.contains(.letter) {
                pos += space
                while f2.contains(.letter) {
                    pos += 1
                    f2 = flag(pos)
                }
                emit.add(pos, &out)
                continue
            }
            if f2.contains(.number) {
                pos += space
                while f2.contains(.number) {
                    pos += 1
                    f2 = flag(pos)
                }
                emit.add(pos, &out)
                continue
            }
            if f2.isDisjoint(with: [.whitespace, .letter, .number]) && !f2.isEmpty {
                pos += space
                while f2.isDisjoint(with: [.whitespace, .letter, .number]) && !f2.isEmpty {
                    pos += 1
                    f2 = flag(pos)
                }
                emit.add(pos, &out)
                continue
            }
            pos = whitespaceEnd(from: pos)
            emit.add(pos, &out)
        }
    }

    /// The end of the piece at `pos` under the patterns' last alternatives: `\s+(?!\S)` (a run of
    /// whitespace leaves its last scalar to the next word), then `\s+`, then one scalar on its own.
    func whitespaceEnd(from pos: Int) -> Int {
        var whitespace = 0
        while flag(pos + whitespace).contains(.whitespace) { whitespace += 1 }
        if whitespace > 1 && scalar(pos + whitespace) != Self.outOfRange { return pos + whitespace - 1 }
        return pos + max(whitespace, 1)
    }

    /// llama.cpp's `unicode_regex_split_custom_llama3` (digitRun 3), `_qwen2` (digitRun 1) and `_qwen35` (digitRun
    /// 1, marks joining letters).
    func splitLlama3(digitRun: Int, marks: Bool, into out: inout [Int]) {
        let wordClass: CodepointFlags = marks ? [.letter, .accentMark] : .letter
        let notPunctuation: CodepointFlags = wordClass.union([.whitespace, .number])
        var emit = Emitter(previousEnd: start)
        var pos = start
        while pos < end {
            let c = scalar(pos)
            let f = flag(pos)
            let contractionLength = contraction(at: pos, caseInsensitive: true)
            if contractionLength > 0 {
                pos += emit.add(pos + contractionLength, &out)
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == 0x0D || c == 0x0A || f.contains(.number)) {
                if !f.isDisjoint(with: wordClass) || !flag(pos + 1).isDisjoint(with: wordClass) {
                    pos += 1
                    while !flag(pos).isDisjoint(with: wordClass) { pos += 1 }
                    emit.add(pos, &out)
                    continue
                }
            }
            // \p{N}{1,3} or \p{N}
            if f.contains(.number) {
                if digitRun == 1 {
                    pos += 1
                    emit.add(pos, &out)
                    continue
                }
                var runStart = pos
                while flag(pos).contains(.number) {
                    pos += 1
                    if pos - runStart >= digitRun {
                        emit.add(pos, &out)
                        runStart = pos
                    }
                }
                emit.add(pos, &out)
                continue
            }
            // <space>?[^\s\p{L}\p{N}]+[\r\n]*  (the entry test reads the current scalar's flags, as llama.cpp does)
            let space = c == 0x20 ? 1 : 0
            var f2 = space == 1 ? flag(pos + 1) : f
            if f2.isDisjoint(with: notPunctuation) && !f.isEmpty {
                pos += space
                while f2.isDisjoint(with: notPunctuation) && !f2.isEmpty {
                    pos += 1
                    f2 = flag(pos)
                }
                var c2 = scalar(pos)
                while c2 == 0x0D || c2 == 0x0A {
                    pos += 1
                    c2 = scalar(pos)
                }
                emit.add(pos, &out)
                continue
            }
            var whitespace = 0
            var lastNewlineEnd = 0
            while flag(pos + whitespace).contains(.whitespace) {
                let c2 = scalar(pos + whitespace)
                if c2 == 0x0D || c2 == 0x0A { lastNewlineEnd = pos + whitespace + 1 }
                whitespace += 1
            }
            // \s*[\r\n]+
            if lastNewlineEnd > 0 {
                pos = lastNewlineEnd
                emit.add(pos, &out)
                continue
            }
            pos = whitespaceEnd(from: pos)
            emit.add(pos, &out)
        }
    }

    /// A `std::regex` split ("isolated" matches): matches and the text between them become pieces. `matchLength`
    /// gives the length of the leftmost match starting at a position (0 for none).
    func isolate(into out: inout [Int], matchLength: (PreTokenizerChunk, Int) -> Int) {
        var gapStart = start
        var pos = start
        while pos < end {
            let length = matchLength(self, pos)
            if length == 0 {
                pos += 1
                continue
            }
            if pos > gapStart { out.append(pos - gapStart) }
            out.append(length)
            pos += length
            gapStart = pos
        }
        if end > gapStart { out.append(end - gapStart) }
    }

    /// Length of the run of scalars from `pos` that satisfy `predicate`.
    func run(from pos: Int, where predicate: (Int) -> Bool) -> Int {
        var last = pos
        while last < end && predicate(last) { last += 1 }
        return last - pos
    }

    /// `\p{N}` on llama.cpp's collapsed text: ASCII digits, or a non-ASCII number that is not whitespace.
    func isNumber(_ pos: Int) -> Bool {
        let c = text[pos]
        if c < 0x80 { return c >= 0x30 && c <= 0x39 }
        let f = flags[pos]
        return !f.contains(.whitespace) && f.intersection(.categories) == .number
    }

    /// `[\p{P}\$\+<=>\^~\|]` on llama.cpp's collapsed text: every ASCII punctuation or symbol except the backtick, or
    /// a non-ASCII punctuation scalar.
    func isPunctuationOrOperator(_ pos: Int) -> Bool {
        let c = text[pos]
        if c < 0x80 {
            return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x5F)
                || (c >= 0x7B && c <= 0x7E)
        }
        let f = flags[pos]
        return !f.contains(.whitespace) && f.intersection(.categories) == .punctuation
    }

    /// Falcon's `[\p{P}\$\+<=>\^~\|`]`: as `isPunctuationOrOperator`, and the backtick.
    func isPunctuationOperatorOrBacktick(_ pos: Int) -> Bool {
        text[pos] == 0x60 || isPunctuationOrOperator(pos)
    }

    /// `[0-9][0-9][0-9]` at `pos`: 3 or 0.
    func digitTriple(at pos: Int) -> Int {
        guard pos + 3 <= end else { return 0 }
        for i in pos ..< pos + 3 where !(text[i] >= 0x30 && text[i] <= 0x39) { return 0 }
        return 3
    }
}
