extension DiskTier {
    static let schemaVersion = 1

    static let schema = """
        CREATE TABLE entries (
            key BLOB PRIMARY KEY NOT NULL,
            tenant TEXT NOT NULL,
            route TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            model TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            tags TEXT NOT NULL,
            status INTEGER NOT NULL,
            content_type TEXT NOT NULL,
            body BLOB NOT NULL,
            events BLOB,
            usage_event_index INTEGER,
            size INTEGER NOT NULL
        );
        CREATE INDEX entries_expires_at ON entries(expires_at);
        CREATE INDEX entries_created_at ON entries(created_at);
        """

    /// Columns 0...8 of every metadata query; `size` is column 8.
    static let metadataColumns = "key, tenant, route, endpoint, model, created_at, expires_at, tags, size"
    /// Metadata columns, then 9...13 for the payload.
    static let entryColumns = metadataColumns + ", status, content_type, body, events, usage_event_index"

    /// Unit separator: cannot appear in a tag a policy file or header would carry.
    static let tagSeparator: Character = "\u{1F}"

    static func encodeTags(_ tags: [String]) -> String {
        tags.joined(separator: String(tagSeparator))
    }

    static func decodeTags(_ text: String) -> [String] {
        text.isEmpty ? [] : text.split(separator: tagSeparator, omittingEmptySubsequences: false).map(String.init)
    }

    static func readMetadata(_ row: SQLiteStatement) -> EntryMetadata? {
        guard let key = CacheKey(bytes: row.blob(0)) else { return nil }
        return EntryMetadata(
            key: key,
            tenant: row.text(1),
            route: row.text(2),
            endpoint: row.text(3),
            model: row.text(4),
            createdAt: row.double(5),
            expiresAt: row.double(6),
            tags: decodeTags(row.text(7))
        )
    }

    /// The full entry from a row selected with `entryColumns`; nil if the row is damaged.
    static func readEntry(_ row: SQLiteStatement) -> CachedResponse? {
        guard let metadata = readMetadata(row) else { return nil }
        var events: [[UInt8]]?
        if !row.isNull(12) {
            guard let decoded = decodeEvents(row.blob(12)) else { return nil }
            events = decoded
        }
        return CachedResponse(
            metadata: metadata,
            status: row.int(9),
            contentType: row.text(10),
            body: row.blob(11),
            events: events,
            usageEventIndex: row.isNull(13) ? nil : row.int(13)
        )
    }

    /// Events as a little-endian UInt32 count, then per event a UInt32 length and the bytes:
    /// one blob per entry instead of a child table, since events are always read together.
    static func encodeEvents(_ events: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4 + events.reduce(0) { $0 + 4 + $1.count })
        appendUInt32(UInt32(events.count), to: &out)
        for event in events {
            appendUInt32(UInt32(event.count), to: &out)
            out += event
        }
        return out
    }

    static func decodeEvents(_ bytes: [UInt8]) -> [[UInt8]]? {
        var offset = 0
        guard let count = readUInt32(bytes, &offset) else { return nil }
        // Each event needs at least its 4-byte length: reject absurd counts before reserving.
        guard Int(count) <= (bytes.count - offset) / 4 else { return nil }
        var events: [[UInt8]] = []
        events.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let length = readUInt32(bytes, &offset), Int(length) <= bytes.count - offset else { return nil }
            events.append(Array(bytes[offset..<offset + Int(length)]))
            offset += Int(length)
        }
        return offset == bytes.count ? events : nil
    }

    private static func appendUInt32(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 24))
    }

    private static func readUInt32(_ bytes: [UInt8], _ offset: inout Int) -> UInt32? {
        guard bytes.count - offset >= 4 else { return nil }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return value
    }

    /// A WHERE clause that selects a superset of what `selector` matches; rows are then
    /// checked with `selector.matches`, so globs and float edges need no exact SQL twin.
    static func whereClause(_ selector: PurgeSelector, now: Double) -> (sql: String, values: [SQLiteValue]) {
        var clauses: [String] = []
        var values: [SQLiteValue] = []
        if let key = selector.key {
            clauses.append("key = ?")
            values.append(.blob(key.bytes))
        }
        let exact = [("tenant", selector.tenant), ("route", selector.route), ("endpoint", selector.endpoint)]
        for (column, value) in exact {
            if let value {
                clauses.append("\(column) = ?")
                values.append(.text(value))
            }
        }
        if let model = selector.model, !model.contains("*"), !model.contains("?") {
            clauses.append("model = ?")
            values.append(.text(model))
        }
        if let tag = selector.tag {
            clauses.append("instr(char(31) || tags || char(31), char(31) || ? || char(31)) > 0")
            values.append(.text(tag))
        }
        if let prefix = selector.keyPrefix, !prefix.isEmpty, prefix.allSatisfy(\.isHexDigit) {
            // hex() is upper case; LIKE ignores ASCII case.
            clauses.append("hex(key) LIKE ?")
            values.append(.text(prefix + "%"))
        }
        if let olderThan = selector.olderThan, olderThan > 0 {
            clauses.append("created_at <= ?")
            values.append(.real(now - olderThan + 1e-6))
        }
        return (clauses.isEmpty ? "1" : clauses.joined(separator: " AND "), values)
    }
}
