/// The `key=value` lines of one section of a LightGBM model file (the header, or one
/// `Tree=N` block), each with its line number, so that every complaint names the section,
/// the line and the key ("Tree=5 line 1234 key threshold").
struct LightGBMFields {
    struct Entry {
        var line: Int
        /// Nil for a bare line without `=` (the header's `average_output`).
        var value: Substring?
    }

    let file: String
    /// "Tree=5" for a tree block, empty for the header.
    let section: String
    /// The line the section starts on, for complaints about what it lacks.
    let firstLine: Int
    private(set) var entries: [Substring: Entry] = [:]

    init(file: String, section: String, firstLine: Int) {
        self.file = file
        self.section = section
        self.firstLine = firstLine
    }

    /// Adds one line; a key given twice is an error, since LightGBM would silently keep the
    /// last and a doubled key means the file was stitched together.
    mutating func add(_ text: Substring, line: Int) throws(ForestLoadError) {
        let key: Substring
        let value: Substring?
        if let equals = text.firstIndex(of: "=") {
            key = text[..<equals]
            value = text[text.index(after: equals)...]
        } else {
            key = text
            value = nil
        }
        if let earlier = entries[key] {
            throw ForestLoadError(
                file: file,
                part: location(line: line, key: key),
                reason: "key \(key) appears twice (first on line \(earlier.line))"
            )
        }
        entries[key] = Entry(line: line, value: value)
    }

    func contains(_ key: Substring) -> Bool { entries[key] != nil }

    func location(line: Int, key: Substring) -> String {
        section.isEmpty ? "line \(line) key \(key)" : "\(section) line \(line) key \(key)"
    }

    func fail(_ key: Substring, _ reason: String) -> ForestLoadError {
        guard let entry = entries[key] else { return missing(key, because: reason) }
        return ForestLoadError(file: file, part: location(line: entry.line, key: key), reason: reason)
    }

    private func missing(_ key: Substring, because reason: String) -> ForestLoadError {
        let part = section.isEmpty ? "header" : "\(section) (line \(firstLine))"
        return ForestLoadError(file: file, part: part, reason: reason)
    }

    /// The value of `key`, which must be there with an `=`.
    func text(_ key: Substring) throws(ForestLoadError) -> Substring {
        guard let entry = entries[key] else { throw missing(key, because: "no \(key)= line") }
        guard let value = entry.value else { throw fail(key, "\(key) has no value") }
        return value
    }

    func integer(_ key: Substring) throws(ForestLoadError) -> Int {
        let value = try text(key)
        guard let integer = Int(value) else { throw fail(key, "\(Self.quote(value)) is not an integer") }
        return integer
    }

    func integers(_ key: Substring, count: Int) throws(ForestLoadError) -> [Int] {
        try elements(key, count: count, expecting: "an integer") { Int($0) }
    }

    /// Doubles as LightGBM writes them (`%.17g`), which round-trip exactly.
    func doubles(_ key: Substring, count: Int) throws(ForestLoadError) -> [Double] {
        try elements(key, count: count, expecting: "a number") { Double($0) }
    }

    /// The space-separated values of `key`, exactly `count` of them when `count` is given.
    func elements<Element>(
        _ key: Substring,
        count: Int?,
        expecting expected: String,
        _ convert: (Substring) -> Element?
    ) throws(ForestLoadError) -> [Element] {
        let tokens = try text(key).split(separator: " ")
        if let count, tokens.count != count {
            throw fail(key, "\(tokens.count) values where \(count) are expected")
        }
        var result: [Element] = []
        result.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() {
            guard let element = convert(token) else {
                throw fail(key, "value \(index) is \(Self.quote(token)), not \(expected)")
            }
            result.append(element)
        }
        return result
    }

    static func quote(_ text: Substring) -> String {
        text.count <= 40 ? "\"\(text)\"" : "\"\(text.prefix(40))...\""
    }
}
