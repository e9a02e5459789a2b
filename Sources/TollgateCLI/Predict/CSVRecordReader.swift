#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads CSV records (RFC 4180: quoted fields, doubled quotes, CR LF or LF line ends, newlines
/// inside quotes) from a file, a block at a time, so files larger than memory stream through.
final class CSVRecordReader {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let handle: UnsafeMutablePointer<FILE>
    private let path: String
    private var block = [UInt8](repeating: 0, count: 1 << 20)
    private var blockCount = 0
    private var position = 0
    private var atEnd = false
    /// 1-based line of the record last returned, for messages.
    private(set) var line = 0
    private var nextLine = 1

    init(path: String) throws(Failure) {
        guard let handle = fopen(path, "rb") else {
            throw Failure(description: "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        self.handle = handle
        self.path = path
    }

    deinit { fclose(handle) }

    private func nextByte() -> UInt8? {
        if position == blockCount {
            guard !atEnd else { return nil }
            blockCount = block.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            position = 0
            if blockCount == 0 {
                atEnd = true
                return nil
            }
        }
        defer { position += 1 }
        return block[position]
    }

    /// The next record's fields, or nil at the end of the file. Blank lines are skipped.
    func next() throws(Failure) -> [String]? {
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var fieldStarted = false
        line = nextLine
        while true {
            guard let byte = nextByte() else {
                if quoted { throw Failure(description: "\(path):\(line): a quoted field is not closed") }
                if fieldStarted || !fields.isEmpty {
                    fields.append(String(decoding: field, as: UTF8.self))
                    return fields
                }
                return nil
            }
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    // A doubled quote is a literal one; a single one closes the field.
                    if peek() == UInt8(ascii: "\"") {
                        _ = nextByte()
                        field.append(byte)
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == 0x0A { nextLine += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\"") where field.isEmpty:
                quoted = true
                fieldStarted = true
            case UInt8(ascii: ","):
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
                fieldStarted = true
            case 0x0D:
                continue
            case 0x0A:
                nextLine += 1
                if !fieldStarted && fields.isEmpty && field.isEmpty {
                    line = nextLine
                    continue  // a blank line
                }
                fields.append(String(decoding: field, as: UTF8.self))
                return fields
            default:
                field.append(byte)
                fieldStarted = true
            }
        }
    }

    private func peek() -> UInt8? {
        guard let byte = nextByte() else { return nil }
        position -= 1
        return byte
    }
}
