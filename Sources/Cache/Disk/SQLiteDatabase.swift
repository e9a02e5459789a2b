import CSQLite

/// An SQLite failure: the result code and SQLite's own message, plus what we were doing.
public struct SQLiteError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The SQLite result code (`SQLITE_CORRUPT` = 11, `SQLITE_NOTADB` = 26, ...), or -1 for a
    /// failure detected on our side (such as an unsupported schema version).
    public let code: Int32
    public let message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "SQLite error \(code): \(message)" }

    /// The file is not a database or is damaged.
    public var isCorruption: Bool { code & 0xff == SQLITE_CORRUPT || code & 0xff == SQLITE_NOTADB }
}

/// A value bound to a statement parameter.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// One SQLite connection with a cache of prepared statements.
///
/// Not thread-safe by itself: SQLite serialises the connection (it is opened FULLMUTEX), but a
/// prepared statement's bindings and cursor belong to one caller at a time, so owners keep
/// the database behind their own lock (see `DiskTier`). Opened in WAL mode with
/// `synchronous=NORMAL`: a crash can lose the last transactions but never corrupts the file,
/// the right trade for a cache (and a ledger that checkpoints often).
public final class SQLiteDatabase {
    /// Tells SQLite to copy bound buffers: Swift arrays do not outlive the bind call.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    public let path: String
    private var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens (creating if missing) the file at `path`. The parent directory must exist.
    /// Reads the header straight away, so a file that is not a database fails here.
    /// `pageSize` applies to a file created now (an existing one keeps its own).
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5000, pageSize: Int? = nil) throws {
        self.path = path
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc, message: "opening \(path): \(message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        do {
            if let pageSize { try execute("PRAGMA page_size=\(pageSize)") }
            // journal_mode reads the header: the first statement that notices a bad file.
            try execute("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=NORMAL")
        } catch let error as SQLiteError {
            close()
            throw SQLiteError(code: error.code, message: "opening \(path): \(error.message)")
        }
    }

    deinit {
        close()
    }

    /// Finalizes cached statements and closes. Later calls fail with SQLITE_MISUSE.
    public func close() {
        statements.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
        }
        handle = nil
    }

    /// Runs one or more statements that return no rows worth reading (DDL, pragmas).
    public func execute(_ sql: String) throws {
        let db = try connection()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        guard rc == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errorMessage)
            throw SQLiteError(code: rc, message: message)
        }
    }

    /// Runs `body` with the cached prepared statement for `sql`, then resets it so that no
    /// half-read cursor keeps a read transaction (and the WAL) pinned. Not reentrant for the
    /// same SQL text.
    public func withStatement<Result>(_ sql: String, _ body: (SQLiteStatement) throws -> Result) throws -> Result {
        let statement: SQLiteStatement
        if let cached = statements[sql] {
            statement = cached
        } else {
            statement = try prepare(sql)
            statements[sql] = statement
        }
        defer { statement.reset() }
        return try body(statement)
    }

    /// A fresh statement that is not cached; finalized when released.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        let db = try connection()
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &raw, nil)
        guard rc == SQLITE_OK, let raw else {
            throw error(rc)
        }
        return SQLiteStatement(raw, database: self)
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    /// Inside another transaction it becomes a savepoint, so helpers can nest.
    public func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        let nested = sqlite3_get_autocommit(try connection()) == 0
        try execute(nested ? "SAVEPOINT tollgate_nested" : "BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute(nested ? "RELEASE tollgate_nested" : "COMMIT")
            return result
        } catch {
            try? execute(nested ? "ROLLBACK TO tollgate_nested; RELEASE tollgate_nested" : "ROLLBACK")
            throw error
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int {
        handle.map { Int(sqlite3_changes($0)) } ?? 0
    }

    /// `PRAGMA user_version`: where schema versions live.
    public func userVersion() throws -> Int {
        try withStatement("PRAGMA user_version") { statement in
            try statement.step() ? statement.int(0) : 0
        }
    }

    public func setUserVersion(_ version: Int) throws {
        try execute("PRAGMA user_version = \(version)")
    }

    func error(_ rc: Int32) -> SQLiteError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        return SQLiteError(code: rc, message: message)
    }

    private func connection() throws -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "database \(path) is closed")
        }
        return handle
    }
}

/// A prepared statement: bind parameters (1-based), step through rows, read columns (0-based).
public final class SQLiteStatement {
    private let raw: OpaquePointer
    /// Keeps the connection open while the statement lives.
    private let database: SQLiteDatabase

    init(_ raw: OpaquePointer, database: SQLiteDatabase) {
        self.raw = raw
        self.database = database
    }

    deinit {
        sqlite3_finalize(raw)
    }

    /// Ready for another run: cursor rewound, every parameter back to NULL.
    public func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    /// Binds `values` to parameters 1, 2, ... in order.
    public func bind(_ values: SQLiteValue...) throws {
        try bind(values)
    }

    public func bind(_ values: [SQLiteValue]) throws {
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    public func bind(_ value: SQLiteValue, at index: Int32) throws {
        let rc: Int32
        switch value {
        case .null:
            rc = sqlite3_bind_null(raw, index)
        case .integer(let v):
            rc = sqlite3_bind_int64(raw, index, v)
        case .real(let v):
            rc = sqlite3_bind_double(raw, index, v)
        case .text(let v):
            rc = sqlite3_bind_text(raw, index, v, -1, SQLiteDatabase.transient)
        case .blob(let v):
            if v.isEmpty {
                // A null pointer would store NULL, not an empty blob.
                rc = sqlite3_bind_zeroblob(raw, index, 0)
            } else {
                rc = v.withUnsafeBytes { bytes in
                    sqlite3_bind_blob64(
                        raw,
                        index,
                        bytes.baseAddress,
                        sqlite3_uint64(bytes.count),
                        SQLiteDatabase.transient
                    )
                }
            }
        }
        guard rc == SQLITE_OK else { throw database.error(rc) }
    }

    /// Advances to the next row; false when done.
    public func step() throws -> Bool {
        let rc = sqlite3_step(raw)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(rc)
        }
    }

    /// Steps to completion, for statements whose rows are not read.
    public func run() throws {
        while try step() {}
    }

    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(raw, column) == SQLITE_NULL
    }

    public func int(_ column: Int32) -> Int {
        Int(sqlite3_column_int64(raw, column))
    }

    public func double(_ column: Int32) -> Double {
        sqlite3_column_double(raw, column)
    }

    public func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(raw, column) else { return "" }
        let count = Int(sqlite3_column_bytes(raw, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    public func blob(_ column: Int32) -> [UInt8] {
        guard let pointer = sqlite3_column_blob(raw, column) else { return [] }
        let count = Int(sqlite3_column_bytes(raw, column))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
