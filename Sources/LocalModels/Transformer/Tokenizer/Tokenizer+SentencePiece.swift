extension Tokenizer {
    /// A symbol of the text being merged: `start ..< start + length`, linked to its neighbours.
    struct Symbol {
        var start: Int
        var length: Int
        var previous: Int
        var next: Int
    }

    /// A candidate SentencePiece merge: highest score first, then the leftmost.
    struct ScoredBigram: Ranked {
        var left: Int32
        var right: Int32
        var score: Float
        var size: Int32

        func outranks(_ other: ScoredBigram) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    /// llama.cpp's `llm_tokenizer_spm_session::tokenize` on text whose spaces are already "▁": start from UTF-8
    /// characters, repeatedly merge the adjacent pair whose union is the best-scored token, then emit the pieces,
    /// with bytes (<0xXX>) for those that are not tokens.
    ///
    /// llama.cpp runs one merge queue over the whole text. Here the text is first cut between two characters that
    /// no token holds side by side (`adjacentCharacters`): no merge can cross such a cut, so the pieces merge
    /// independently to the same result, with small queues instead of one as long as the text.
    func encodeSentencePiece(_ text: [UInt8], into output: inout [Int32]) {
        guard !text.isEmpty else { return }
        text.withUnsafeBufferPointer { text in
            var segmentStart = 0
            var previous: UInt32 = 0
            var offset = 0
            while offset < text.count {
                let length = min(Self.utf8Length(text[offset]), text.count - offset)
                let character = Self.characterKey(text, offset, length)
                if offset > 0 && !adjacentCharacters.contains(previous, character) {
                    encodeSentencePieceSegment(UnsafeBufferPointer(rebasing: text[segmentStart ..< offset]), &output)
                    segmentStart = offset
                }
                previous = character
                offset += length
            }
            encodeSentencePieceSegment(UnsafeBufferPointer(rebasing: text[segmentStart...]), &output)
        }
    }

    /// The bytes of the UTF-8 sequence of `length` (1...4) bytes at `offset`, packed into one number.
    @inline(__always)
    static func characterKey(_ text: UnsafeBufferPointer<UInt8>, _ offset: Int, _ length: Int) -> UInt32 {
        var value = UInt32(text[offset])
        var i = 1
        while i < length {
            value = value << 8 | UInt32(text[offset + i])
            i += 1
        }
        return value
    }

    private func encodeSentencePieceSegment(_ text: UnsafeBufferPointer<UInt8>, _ output: inout [Int32]) {
        var symbols: [Symbol] = []
        symbols.reserveCapacity(text.count)
        var offset = 0
        while offset < text.count {
            let length = min(Self.utf8Length(text[offset]), text.count - offset)
            symbols.append(Symbol(start: offset, length: length, previous: symbols.count - 1, next: -1))
            offset += length
            if offset < text.count { symbols[symbols.count - 1].next = symbols.count }
        }
        func bigram(_ left: Int, _ right: Int) -> ScoredBigram? {
            guard left >= 0, right >= 0 else { return nil }
            let start = symbols[left].start
            let size = symbols[left].length + symbols[right].length
            let id = tokenID(UnsafeBufferPointer(rebasing: text[start ..< start + size]))
            guard id >= 0 else { return nil }
            return ScoredBigram(left: Int32(left), right: Int32(right), score: scores[Int(id)], size: Int32(size))
        }
        var initial: [ScoredBigram] = []
        initial.reserveCapacity(symbols.count)
        for i in 1 ..< max(symbols.count, 1) {
            if let candidate = bigram(i - 1, i) { initial.append(candidate) }
        }
        var queue = PriorityQueue<ScoredBigram>()
        queue.replace(with: initial)
        while let top = queue.pop() {
            let leftIndex = Int(top.left)
            let left = symbols[leftIndex]
            let right = symbols[Int(top.right)]
            if left.length == 0 || right.length == 0 || left.length + right.length != Int(top.size) { continue }
            symbols[leftIndex].length += right.length
            symbols[Int(top.right)].length = 0
            symbols[leftIndex].next = right.next
            if right.next >= 0 { symbols[right.next].previous = leftIndex }
            if let candidate = bigram(left.previous, leftIndex) { queue.push(candidate) }
            if let candidate = bigram(leftIndex, right.next) { queue.push(candidate) }
        }
        var i = 0
        while i != -1 {
            let symbol = symbols[i]
            let piece = UnsafeBufferPointer(rebasing: text[symbol.start ..< symbol.start + symbol.length])
            let id = tokenID(piece)
            if id >= 0 {
                output.append(id)
            } else {
                for byte in piece {
                    let byteToken = byteTokens[Int(byte)]
                    if byteToken >= 0 {
                        output.append(byteToken)
                    } else if let unk {
                        output.append(unk)  // llama.cpp throws here; a vocabulary without byte tokens maps to unk
                    }
                }
            }
            i = symbol.next
        }
    }

    /// Bytes in the UTF-8 sequence that starts with `byte` (llama.cpp's `unicode_len_utf8`).
    @inline(__always)
    static func utf8Length(_ byte: UInt8) -> Int {
        switch byte >> 4 {
        case 0xC, 0xD: 2
        case 0xE: 3
        case 0xF: 4
        default: 1
        }
    }
}
