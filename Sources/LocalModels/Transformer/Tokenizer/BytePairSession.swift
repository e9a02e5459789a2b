/// Byte-level BPE over one text fragment, as llama.cpp's `llm_tokenizer_bpe_session::tokenize`: split into words,
/// write each word's bytes in the byte-level alphabet, merge adjacent symbols by merge rank, and look the results up.
/// Buffers are reused from word to word.
struct BytePairSession {
    let tokenizer: Tokenizer
    let pre: PreTokenizer
    private var scalars: [UInt32] = []
    private var flags: [CodepointFlags] = []
    private var byteOffsets: [Int] = []
    private var word: [UInt8] = []
    private var symbols: [Tokenizer.Symbol] = []
    private var stringIDs: [Int32] = []
    private var queue = PriorityQueue<RankedBigram>()

    /// A candidate merge: lowest rank first, then the leftmost. The sizes identify the symbols' texts at push time.
    struct RankedBigram: Ranked {
        var left: Int
        var right: Int
        var rank: Int32
        var leftLength: Int
        var rightLength: Int

        func outranks(_ other: RankedBigram) -> Bool {
            rank < other.rank || (rank == other.rank && left < other.left)
        }
    }

    init(tokenizer: Tokenizer, pre: PreTokenizer) {
        self.tokenizer = tokenizer
        self.pre = pre
    }

    mutating func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        decodeScalars(text)
        let lengths = pre.split(scalars, flags)
        var scalarStart = 0
        for length in lengths {
            let from = byteOffsets[scalarStart]
            let to = byteOffsets[scalarStart + length]
            scalarStart += length
            word.removeAll(keepingCapacity: true)
            ByteLevelEncoding.encode(UnsafeBufferPointer(rebasing: text[from ..< to]), into: &word)
            encodeWord(into: &output)
        }
    }

    /// Scalars of valid UTF-8 (the input comes from a `String`, cut at character boundaries), their flags, and the
    /// byte offset of each.
    private mutating func decodeScalars(_ text: UnsafeBufferPointer<UInt8>) {
        scalars.removeAll(keepingCapacity: true)
        flags.removeAll(keepingCapacity: true)
        byteOffsets.removeAll(keepingCapacity: true)
        var i = 0
        while i < text.count {
            byteOffsets.append(i)
            let b0 = UInt32(text[i])
            var value: UInt32
            var length = 1
            switch b0 {
            case 0 ..< 0x80: value = b0
            case 0xC0 ..< 0xE0:
                value = (b0 & 0x1F) << 6 | UInt32(text[i + 1] & 0x3F)
                length = 2
            case 0xE0 ..< 0xF0:
                value = (b0 & 0x0F) << 12 | UInt32(text[i + 1] & 0x3F) << 6 | UInt32(text[i + 2] & 0x3F)
                length = 3
            default:
                value = (b0 & 0x07) << 18 | UInt32(text[i + 1] & 0x3F) << 12 | UInt32(text[i + 2] & 0x3F) << 6
                    | UInt32(text[i + 3] & 0x3F)
                length = 4
            }
            scalars.append(value)
            flags.append(CodepointFlags.of(value))
            i += length
        }
        byteOffsets.append(text.count)
    }

    private mutating func encodeWord(into output: inout [Int32]) {
        let tokenizer = self.tokenizer
        let tokenCount = Int32(tokenizer.vocabularySize)
        word.withUnsafeBufferPointer { word in
            if pre.ignoreMerges {
                let whole = tokenizer.tokenID(word)
                if whole >= 0 {
                    output.append(whole)
                    return
                }
            }
            symbols.removeAll(keepingCapacity: true)
            stringIDs.removeAll(keepingCapacity: true)
            var offset = 0
            while offset < word.count {
                let length = min(Tokenizer.utf8Length(word[offset]), word.count - offset)
                let next = offset + length < word.count ? symbols.count + 1 : -1
                symbols.append(Tokenizer.Symbol(start: offset, length: length, previous: symbols.count - 1, next: next))
                let text = UnsafeBufferPointer(rebasing: word[offset ..< offset + length])
                stringIDs.append(tokenizer.strings.find(text))
                offset += length
            }
            queue.removeAll()
            for i in 1 ..< max(symbols.count, 1) { addBigram(i - 1, i) }
            while let bigram = queue.pop() {
                let left = symbols[bigram.left]
                let right = symbols[bigram.right]
                if left.length == 0 || right.length == 0 { continue }
                if left.length != bigram.leftLength || right.length != bigram.rightLength { continue }
                let merged = left.length + right.length
                symbols[bigram.left].length = merged
                symbols[bigram.right].length = 0
                symbols[bigram.left].next = right.next
                if right.next >= 0 { symbols[right.next].previous = bigram.left }
                stringIDs[bigram.left] = tokenizer.strings.find(
                    UnsafeBufferPointer(rebasing: word[left.start ..< left.start + merged]))
                addBigram(left.previous, bigram.left)
                addBigram(bigram.left, right.next)
            }
            for (index, symbol) in symbols.enumerated() where symbol.length > 0 {
                let id = stringIDs[index]
                if id >= 0 && id < tokenCount {
                    output.append(id)
                    continue
                }
                // Not a token: each byte of the (byte-level) text on its own, where that is a token.
                for i in symbol.start ..< symbol.start + symbol.length {
                    let single = tokenizer.strings.find(UnsafeBufferPointer(rebasing: word[i ..< i + 1]))
                    if single >= 0 && single < tokenCount { output.append(single) }
                }
            }
        }
    }

    private mutating func addBigram(_ left: Int, _ right: Int) {
        guard left >= 0, right >= 0 else { return }
        let leftID = stringIDs[left]
        let rightID = stringIDs[right]
        guard leftID >= 0, rightID >= 0 else { return }
        let rank = tokenizer.ranks.rank(left: leftID, right: rightID)
        guard rank >= 0 else { return }
        queue.push(
            RankedBigram(
                left: left, right: right, rank: rank, leftLength: symbols[left].length,
                rightLength: symbols[right].length))
    }
}
