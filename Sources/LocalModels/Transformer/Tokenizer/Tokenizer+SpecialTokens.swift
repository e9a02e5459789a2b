#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Tokenizer {
    /// A piece of the input: text still to tokenize, or a special token found in it.
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    /// llama.cpp's `tokenizer_st_partition`: each special token in turn, longest first, is cut out of the text
    /// fragments left by the previous ones. Control and unknown tokens only when `parseSpecial`; user-defined
    /// tokens always. Tokens with the left/right-strip attribute also drop the ASCII whitespace beside them.
    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = [.text(0 ..< bytes.count)]
        var next: [Fragment] = []
        bytes.withUnsafeBufferPointer { text in
            for id in specialTokens {
                let attribute = attributes[Int(id)]
                if !parseSpecial && !attribute.isDisjoint(with: [.control, .unknown]) { continue }
                let needle = strings.bytes(id)
                guard fragments.contains(where: { if case .text = $0 { true } else { false } }) else { break }
                next.removeAll(keepingCapacity: true)
                var found = false
                needle.withUnsafeBufferPointer { needle in
                    for fragment in fragments {
                        guard case .text(let range) = fragment else {
                            next.append(fragment)
                            continue
                        }
                        var base = range.lowerBound
                        var length = range.count
                        while true {
                            guard let match = Self.find(needle, in: text, from: base, length: length) else {
                                if length > 0 { next.append(.text(base ..< base + length)) }
                                break
                            }
                            found = true
                            if match > base {
                                var leftLength = match - base
                                if attribute.contains(.leftStrip) {
                                    while leftLength > 0 && Self.isSpace(text[base + leftLength - 1]) {
                                        leftLength -= 1
                                    }
                                }
                                if leftLength > 0 { next.append(.text(base ..< base + leftLength)) }
                            }
                            next.append(.token(id))
                            let matchEnd = match + needle.count
                            guard matchEnd < base + length else { break }
                            var rightStart = matchEnd
                            var rightLength = base + length - matchEnd
                            if attribute.contains(.rightStrip) {
                                while rightLength > 0 && Self.isSpace(text[rightStart]) {
                                    rightStart += 1
                                    rightLength -= 1
                                }
                            }
                            base = rightStart
                            length = rightLength
                        }
                    }
                }
                if found { swap(&fragments, &next) }
            }
        }
        return fragments
    }

    /// First occurrence of `needle` in `text[from ..< from + length]`.
    private static func find(
        _ needle: UnsafeBufferPointer<UInt8>, in text: UnsafeBufferPointer<UInt8>, from: Int, length: Int
    ) -> Int? {
        guard needle.count > 0, length >= needle.count else { return nil }
        let base = text.baseAddress!
        let first = Int32(needle[0])
        var position = from
        let last = from + length - needle.count  // last possible start
        while position <= last {
            guard let hit = memchr(base + position, first, last - position + 1) else { return nil }
            let start = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
            if memcmp(base + start, needle.baseAddress!, needle.count) == 0 { return start }
            position = start + 1
        }
        return nil
    }

    /// C `isspace` in the C locale.
    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }
}
