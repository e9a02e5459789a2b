import Synchronization

/// Size of the disk tier, from the database itself.
public struct DiskTierStats: Sendable, Equatable {
    public var entries: Int
    public var bytes: Int
    public var maxBytes: Int

    public init(entries: Int, bytes: Int, maxBytes: Int) {
        self.entries = entries
        self.bytes = bytes
        self.maxBytes = maxBytes
    }
}

/// The persistent tier: one SQLite file that survives restarts.
///
/// Every call blocks on file I/O, so the gateway calls it from a thread pool, never from an
/// event loop. One connection behind one lock: SQLite serialises writers anyway, and the
/// lock also keeps the running byte total exact.
///
/// Bytes are counted with `CachedResponse.byteCount`, like the memory tier, so that the two
/// budgets mean the same thing. When a write takes the total over `maxBytes`, expired rows go
/// first, then the oldest by `created_at`.
///
/// Time is always passed in (`now`, seconds since the epoch); the tier never reads a clock.
public final class DiskTier: Sendable {
    struct State {
        let database: SQLiteDatabase
        /// Sum of `size` over all rows, kept in step with every write.
        var totalBytes: Int
    }

    public let path: String
    public let maxBytes: Int
    private let state: Mutex<State>

    /// Opens or creates the cache database at `path` (the directory must exist).
    ///
    /// Throws `SQLiteError` when the file is not a database, is damaged, belongs to something
    /// else, or has a newer schema; the caller then runs without a disk tier.
    public init(path: String, maxBytes: Int) throws {
        self.path = path
        self.maxBytes = max(0, maxBytes)
        let database = try SQLiteDatabase(path: path)
        try Self.migrate(database, path: path)
        let totalBytes = try database.withStatement("SELECT total(size) FROM entries") { row in
            try row.step() ? row.int(0) : 0
        }
        state = Mutex(State(database: database, totalBytes: totalBytes))
    }

    /// The live entry for `key`, or nil. An expired or unreadable row is deleted on the way.
    public func get(_ key: CacheKey, now: Double) throws -> CachedResponse? {
        try state.withLock { state in
            let sql = "SELECT \(Self.entryColumns) FROM entries WHERE key = ?"
            let found: (entry: CachedResponse?, expiresAt: Double)? = try state.database.withStatement(sql) { row in
                try row.bind(.blob(key.bytes))
                guard try row.step() else { return nil }
                return (Self.readEntry(row), row.double(6))
            }
            guard let found else { return nil }
            guard let entry = found.entry, found.expiresAt > now else {
                try Self.delete(key, in: &state)
                return nil
            }
            return entry
        }
    }

    /// Inserts or replaces `entry`, then trims the file back under `maxBytes`. An entry that
    /// is already expired or larger than `maxBytes` is not stored (and its old row goes).
    public func put(_ entry: CachedResponse, now: Double) throws {
        let size = entry.byteCount
        try state.withLock { state in
            guard size <= maxBytes, entry.metadata.expiresAt > now else {
                try Self.delete(entry.key, in: &state)
                return
            }
            let database = state.database
            try database.transaction {
                try Self.delete(entry.key, in: &state)
                try Self.insert(entry, size: size, database: database)
                state.totalBytes += size
                if state.totalBytes > maxBytes {
                    try Self.evict(now: now, maxBytes: maxBytes, state: &state)
                }
            }
        }
    }

    @discardableResult
    public func remove(_ key: CacheKey) throws -> Bool {
        try state.withLock { state in try Self.delete(key, in: &state) }
    }

    /// Removes every row `selector` matches, expired ones included; returns their keys.
    public func purge(_ selector: PurgeSelector, now: Double) throws -> [CacheKey] {
        try state.withLock { state in
            let database = state.database
            return try database.transaction {
                let matched = try Self.select(selector, now: now, liveOnly: false, limit: .max, database: database)
                let keys = matched.map(\.key)
                for key in keys { try Self.delete(key, in: &state) }
                return keys
            }
        }
    }

    /// Metadata of live rows matching `selector`, newest first, at most `limit`.
    public func list(_ selector: PurgeSelector, now: Double, limit: Int) throws -> [EntryMetadata] {
        try state.withLock { state in
            try Self.select(selector, now: now, liveOnly: true, limit: limit, database: state.database)
        }
    }

    /// Deletes every expired row; returns how many.
    @discardableResult
    public func removeExpired(now: Double) throws -> Int {
        try state.withLock { state in
            let (count, bytes) = try Self.deleteExpired(now: now, database: state.database)
            state.totalBytes -= bytes
            return count
        }
    }

    /// Every stored key, live or not (for the resident-key index of `ResponseCache`).
    public func keys() throws -> [CacheKey] {
        try state.withLock { state in
            try state.database.withStatement("SELECT key FROM entries") { row in
                var keys: [CacheKey] = []
                while try row.step() {
                    if let key = CacheKey(bytes: row.blob(0)) { keys.append(key) }
                }
                return keys
            }
        }
    }

    public func stats() throws -> DiskTierStats {
        try state.withLock { state in
            try state.database.withStatement("SELECT count(*), total(size) FROM entries") { row in
                _ = try row.step()
                return DiskTierStats(entries: row.int(0), bytes: row.int(1), maxBytes: maxBytes)
            }
        }
    }

    // MARK: - Internals (called with the lock held)

    /// Creates the schema in a fresh file; refuses files that are not ours or are newer.
    private static func migrate(_ database: SQLiteDatabase, path: String) throws {
        let version = try database.userVersion()
        switch version {
        case schemaVersion:
            return
        case 0:
            let tables = try database.withStatement("SELECT count(*) FROM sqlite_master") { row in
                try row.step() ? row.int(0) : 0
            }
            guard tables == 0 else {
                throw SQLiteError(code: -1, message: "\(path) is an SQLite database but not a Tollgate cache")
            }
            try database.transaction {
                try database.execute(schema)
                try database.setUserVersion(schemaVersion)
            }
        default:
            throw SQLiteError(
                code: -1,
                message: "\(path) has cache schema version \(version); this build reads version \(schemaVersion)"
            )
        }
    }

    private static func insert(_ entry: CachedResponse, size: Int, database: SQLiteDatabase) throws {
        let sql = """
            INSERT INTO entries (\(entryColumns))
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        let metadata = entry.metadata
        try database.withStatement(sql) { statement in
            try statement.bind([
                .blob(entry.key.bytes), .text(metadata.tenant), .text(metadata.route), .text(metadata.endpoint),
                .text(metadata.model), .real(metadata.createdAt), .real(metadata.expiresAt),
                .text(encodeTags(metadata.tags)), .integer(Int64(size)),
                .integer(Int64(entry.status)), .text(entry.contentType), .blob(entry.body),
                entry.events.map { .blob(encodeEvents($0)) } ?? .null,
                entry.usageEventIndex.map { .integer(Int64($0)) } ?? .null,
            ])
            try statement.run()
        }
    }

    @discardableResult
    private static func delete(_ key: CacheKey, in state: inout State) throws -> Bool {
        let size: Int? = try state.database.withStatement("DELETE FROM entries WHERE key = ? RETURNING size") { row in
            try row.bind(.blob(key.bytes))
            guard try row.step() else { return nil }
            let size = row.int(0)
            try row.run()
            return size
        }
        guard let size else { return false }
        state.totalBytes -= size
        return true
    }

    private static func deleteExpired(now: Double, database: SQLiteDatabase) throws -> (count: Int, bytes: Int) {
        try database.withStatement("DELETE FROM entries WHERE expires_at <= ? RETURNING size") { row in
            try row.bind(.real(now))
            var count = 0
            var bytes = 0
            while try row.step() {
                count += 1
                bytes += row.int(0)
            }
            return (count, bytes)
        }
    }

    /// Expired rows first, then the oldest rows, a batch at a time, until under `maxBytes`.
    private static func evict(now: Double, maxBytes: Int, state: inout State) throws {
        let database = state.database
        state.totalBytes -= try deleteExpired(now: now, database: database).bytes
        while state.totalBytes > maxBytes {
            let oldest: [CacheKey] = try database.withStatement(
                "SELECT key FROM entries ORDER BY created_at ASC, key ASC LIMIT 64"
            ) { row in
                var keys: [CacheKey] = []
                while try row.step() {
                    if let key = CacheKey(bytes: row.blob(0)) { keys.append(key) }
                }
                return keys
            }
            guard !oldest.isEmpty else { break }
            for key in oldest where state.totalBytes > maxBytes {
                try delete(key, in: &state)
            }
        }
    }

    /// Rows `selector` matches, newest first: SQL narrows, `selector.matches` decides.
    private static func select(
        _ selector: PurgeSelector,
        now: Double,
        liveOnly: Bool,
        limit: Int,
        database: SQLiteDatabase
    ) throws -> [EntryMetadata] {
        guard limit > 0 else { return [] }
        var (condition, values) = whereClause(selector, now: now)
        if liveOnly {
            condition += " AND expires_at > ?"
            values.append(.real(now))
        }
        let sql = "SELECT \(metadataColumns) FROM entries WHERE \(condition) ORDER BY created_at DESC, key ASC"
        return try database.withStatement(sql) { row in
            try row.bind(values)
            var found: [EntryMetadata] = []
            while found.count < limit, try row.step() {
                if let metadata = readMetadata(row), selector.matches(metadata, now: now) {
                    found.append(metadata)
                }
            }
            return found
        }
    }
}
