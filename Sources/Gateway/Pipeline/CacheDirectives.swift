import Cache

/// The request's `Cache-Control` directives that Tollgate honours.
struct CacheDirectives: Sendable, Equatable {
    /// Skip the lookup and refresh the entry from the backend.
    var noCache = false
    /// Neither look up nor store.
    var noStore = false
    /// Accept a stored response only if it is at most this old.
    var maxAge: Double?

    static let none = CacheDirectives()

    init() {}

    init(header: String) {
        // Byte-level: this runs on every request that carries the header.
        for part in header.utf8.split(separator: UInt8(ascii: ",")) {
            var directive = part[...]
            while directive.first == UInt8(ascii: " ") || directive.first == UInt8(ascii: "\t") {
                directive = directive.dropFirst()
            }
            while directive.last == UInt8(ascii: " ") || directive.last == UInt8(ascii: "\t") {
                directive = directive.dropLast()
            }
            let lower = directive.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
            if lower.elementsEqual("no-cache".utf8) {
                noCache = true
            } else if lower.elementsEqual("no-store".utf8) {
                noStore = true
            } else if lower.starts(with: "max-age=".utf8) {
                var value = lower.dropFirst("max-age=".utf8.count)
                if value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\""), value.count >= 2 {
                    value = value.dropFirst().dropLast()
                }
                if let seconds = Double(String(decoding: value, as: UTF8.self)), seconds >= 0 { maxAge = seconds }
            }
        }
    }

    /// Whether `entry` is fresh enough for this request (`max-age`).
    func accepts(_ entry: CachedResponse, now: Double) -> Bool {
        accepts(entry.metadata, now: now)
    }

    /// Whether an answer stored with `metadata` is fresh enough for this request (`max-age`).
    func accepts(_ metadata: EntryMetadata, now: Double) -> Bool {
        guard let maxAge else { return true }
        return metadata.age(now: now) <= maxAge
    }

    /// Whether a stored response may answer at all.
    var allowsLookup: Bool { !noCache && !noStore }
}
