/// GPT-2's reversible map from bytes to printable characters, in which byte-level BPE vocabularies are written
/// (a space is "Ġ", a newline "Ċ"). Same table as llama.cpp's `unicode_byte_to_utf8_map`.
enum ByteLevelEncoding {
    /// The UTF-8 bytes of the character that stands for each byte.
    static let encoded: [[UInt8]] = {
        var scalarFor = [UInt32](repeating: 0, count: 256)
        var direct = [Bool](repeating: false, count: 256)
        for b in 0x21 ... 0x7E { direct[b] = true }
        for b in 0xA1 ... 0xAC { direct[b] = true }
        for b in 0xAE ... 0xFF { direct[b] = true }
        var next: UInt32 = 256
        for b in 0 ..< 256 {
            if direct[b] {
                scalarFor[b] = UInt32(b)
            } else {
                scalarFor[b] = next
                next += 1
            }
        }
        return scalarFor.map { Array(String(Unicode.Scalar($0)!).utf8) }
    }()

    /// The byte each encoding character stands for, by scalar value (only 0...0x143 are used); -1 elsewhere.
    static let decoded: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, utf8) in encoded.enumerated() {
            let scalar = String(decoding: utf8, as: UTF8.self).unicodeScalars.first!.value
            table[Int(scalar)] = Int16(byte)
        }
        return table
    }()

    /// Appends the byte-level form of `bytes` to `output`.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        for b in bytes { output.append(contentsOf: encoded[Int(b)]) }
    }

    /// The bytes a byte-level token text stands for, as llama.cpp's `llama_decode_text` gives them: a character
    /// outside the table becomes "[UNK_BYTE_0x<hex><token text>]".
    static func decode(_ text: String) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar.value < 0x144, decoded[Int(scalar.value)] >= 0 {
                result.append(UInt8(decoded[Int(scalar.value)]))
            } else {
                result.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                for b in String(scalar).utf8 {
                    let hex = Array("0123456789abcdef".utf8)
                    result.append(hex[Int(b >> 4)])
                    result.append(hex[Int(b & 15)])
                }
                result.append(contentsOf: Array(text.utf8))
                result.append(UInt8(ascii: "]"))
            }
        }
        return result
    }
}
