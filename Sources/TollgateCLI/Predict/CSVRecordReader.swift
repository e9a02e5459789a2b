#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads CSV records (RFC 4180: quoted fields, doubled quotes, CR LF or LF line ends, newlines
/// inside quotes) from a file, a block at a time, so files larger than memory stream through.
///
/// A record's fields are kept as byte ranges in one reused buffer and numbers are parsed from
/// those bytes directly: a batch file is millions of cells, and a `String` per cell would cost
/// more than scoring the row. A struct, so the byte loop's accesses are checked statically.
struct CSVRecordReader {
    /// Closes the file when the last copy of the reader goes.
    private final class OpenFile {
        let handle: UnsafeMutablePointer<FILE>
        init(_ handle: UnsafeMutablePointer<FILE>) { self.handle = handle }
        deinit { fclose(handle) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let file: OpenFile
    private let path: String
    private var block = [UInt8](repeating: 0, count: 1 << 20)
    private var blockCount = 0
    private var position = 0
    private var atEnd = false
    /// The current record: its fields' bytes back to back, and where each one is.
    private(set) var bytes: [UInt8] = []
    private(set) var fields: [Range<Int>] = []
    /// 1-based line of the record last read, for messages.
    private(set) var line = 0
    private var nextLine = 1

    init(path: String) throws(Failure) {
        guard let handle = fopen(path, "rb") else {
            throw Failure(description: "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        self.file = OpenFile(handle)
        self.path = path
    }

    var count: Int { fields.count }

    func string(_ index: Int) -> String {
        String(decoding: bytes[fields[index]], as: UTF8.self)
    }

    /// The field as a number: NaN for an empty cell, `NA`, `N/A`, `NaN`, `null` or `None`;
    /// nil when it is not a number.
    func number(_ index: Int) -> Double? {
        var range = fields[index]
        while let first = range.first, bytes[first] == 0x20 || bytes[first] == 0x09 { range = range.dropFirst() }
        while let last = range.last, bytes[last] == 0x20 || bytes[last] == 0x09 { range = range.dropLast() }
        if range.isEmpty { return .nan }
        guard range.count < 64 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { text -> Double? in
            for (offset, index) in range.enumerated() { text[offset] = CChar(bitPattern: bytes[index]) }
            text[range.count] = 0
            switch range.count {
            case 2, 3, 4:
                let word = String(cString: text.baseAddress!)
                if ["NA", "N/A", "NaN", "nan", "NAN", "null", "None"].contains(word) { return .nan }
            default:
                break
            }
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(text.baseAddress!, &end)
            // strtod must take every byte; its hexadecimal floats are not CSV numbers.
            guard let end, end - text.baseAddress! == range.count else { return nil }
            return bytes[range].contains(where: { $0 == 0x78 || $0 == 0x58 }) ? nil : value
        }
    }

    @inline(__always)
    private mutating func nextByte() -> UInt8? {
        if position == blockCount {
            guard !atEnd else { return nil }
            blockCount = block.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file.handle) }
            position = 0
            if blockCount == 0 {
                atEnd = true
                return nil
            }
        }
        let byte = block[position]
        position += 1
        return byte
    }

    private mutating func peek() -> UInt8? {
        guard let byte = nextByte() else { return nil }
        position -= 1
        return byte
    }

    /// Reads the next record into `bytes` and `fields`; false at the end of the file. Blank
    /// lines are skipped.
    mutating func next() throws(Failure) -> Bool {
        bytes.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        var fieldStart = 0
        var quoted = false
        var fieldStarted = false
        line = nextLine
        while true {
            guard let byte = nextByte() else {
                if quoted { throw Failure(description: "\(path):\(line): a quoted field is not closed") }
                if fieldStarted || !fields.isEmpty {
                    fields.append(fieldStart..<bytes.count)
                    return true
                }
                return false
            }
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    // A doubled quote is a literal one; a single one closes the field.
                    if peek() == UInt8(ascii: "\"") {
                        _ = nextByte()
                        bytes.append(byte)
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == 0x0A { nextLine += 1 }
                    bytes.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\"") where bytes.count == fieldStart:
                quoted = true
                fieldStarted = true
            case UInt8(ascii: ","):
                fields.append(fieldStart..<bytes.count)
                fieldStart = bytes.count
                fieldStarted = true
            case 0x0D:
                continue
            case 0x0A:
                nextLine += 1
                if !fieldStarted && fields.isEmpty && bytes.isEmpty {
                    line = nextLine
                    continue  // a blank line
                }
                fields.append(fieldStart..<bytes.count)
                return true
            default:
                bytes.append(byte)
                fieldStarted = true
            }
        }
    }
}
