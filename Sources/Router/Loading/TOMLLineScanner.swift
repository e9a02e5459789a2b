/// Walks a TOML document once and notes the line where each key path is defined.
///
/// It follows the structure only as far as line numbers need: table headers (with the
/// running index of each array of tables), `key = value` lines with dotted keys, and
/// inside values the elements of arrays and the keys of inline tables, which may span
/// lines. String bodies, multi-line ones included, are skipped. The document is expected
/// to have parsed already; on anything unexpected the scanner skips to the next line
/// rather than fail.
struct TOMLLineScanner {
    let bytes: [UInt8]
    var position: Int
    var line = 1
    private(set) var lines: [TOMLKeyPath: Int] = [:]
    private var explicitlyDefined: Set<TOMLKeyPath> = []
    private var currentTable = TOMLKeyPath()
    private var arrayTableCounts: [TOMLKeyPath: Int] = [:]

    init(bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    init(text: String) {
        self.init(bytes: Array(text.utf8))
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    mutating func scan() {
        while true {
            skipTrivia(newlines: true)
            guard let byte = peek() else { return }
            let start = position
            if byte == UInt8(ascii: "[") {
                tableHeader()
            } else {
                keyValue(in: currentTable)
            }
            finishLine(progressFrom: start)
        }
    }

    /// `[a.b]` or `[[a.b]]`. Each array-of-tables header adds an element; a later header
    /// below it (`[routes.retry]`, `[[routes.tags]]`) belongs to its latest element.
    private mutating func tableHeader() {
        let headerLine = line
        advance()
        let isArray = peek() == UInt8(ascii: "[")
        if isArray { advance() }
        skipTrivia(newlines: false)
        guard let keys = readKey() else { return }
        skipTrivia(newlines: false)
        guard consume(UInt8(ascii: "]")), !isArray || consume(UInt8(ascii: "]")) else { return }

        var path = TOMLKeyPath()
        for (offset, key) in keys.enumerated() {
            path = path.appending(key)
            let isLast = offset == keys.count - 1
            if isLast && isArray {
                let count = arrayTableCounts[path, default: 0]
                arrayTableCounts[path] = count + 1
                record(path, line: headerLine, explicit: false)
                path = path.appending(index: count)
            } else if let count = arrayTableCounts[path] {
                path = path.appending(index: count - 1)
            }
            record(path, line: headerLine, explicit: isLast)
        }
        currentTable = path
    }

    /// `a.b = value`, relative to `base`.
    private mutating func keyValue(in base: TOMLKeyPath) {
        let keyLine = line
        guard let keys = readKey() else { return }
        skipTrivia(newlines: false)
        guard consume(UInt8(ascii: "=")) else { return }
        skipTrivia(newlines: false)
        var path = base
        for (offset, key) in keys.enumerated() {
            path = path.appending(key)
            record(path, line: keyLine, explicit: offset == keys.count - 1)
        }
        value(at: path)
    }

    private mutating func value(at path: TOMLKeyPath) {
        switch peek() {
        case UInt8(ascii: "\""), UInt8(ascii: "'"): skipString()
        case UInt8(ascii: "["): array(at: path)
        case UInt8(ascii: "{"): inlineTable(at: path)
        default: skipScalar()
        }
    }

    private mutating func array(at path: TOMLKeyPath) {
        advance()
        var index = 0
        while true {
            skipTrivia(newlines: true)
            guard let byte = peek() else { return }
            if byte == UInt8(ascii: "]") {
                advance()
                return
            }
            let element = path.appending(index: index)
            record(element, line: line, explicit: true)
            let start = position
            value(at: element)
            skipTrivia(newlines: true)
            if consume(UInt8(ascii: ",")) {
                index += 1
            } else {
                if !consume(UInt8(ascii: "]")), position == start { advance() }
                return
            }
        }
    }

    /// `{ a = 1, b.c = 2 }`; newlines are tolerated inside, as TOML 1.1 allows.
    private mutating func inlineTable(at path: TOMLKeyPath) {
        advance()
        while true {
            skipTrivia(newlines: true)
            guard let byte = peek() else { return }
            if byte == UInt8(ascii: "}") {
                advance()
                return
            }
            let start = position
            keyValue(in: path)
            skipTrivia(newlines: true)
            if !consume(UInt8(ascii: ",")) {
                if !consume(UInt8(ascii: "}")), position == start { advance() }
                return
            }
        }
    }

    /// The first definition wins, except that an explicit one (`[a]`, `a = ...`) replaces
    /// a line noted only because a deeper key passed through it (`[a.b]` before `[a]`).
    private mutating func record(_ path: TOMLKeyPath, line: Int, explicit: Bool) {
        if explicit {
            if explicitlyDefined.insert(path).inserted { lines[path] = line }
        } else if lines[path] == nil {
            lines[path] = line
        }
    }
}
