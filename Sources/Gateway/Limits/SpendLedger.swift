import Cache
import Synchronization

/// The durable spend ledger: one SQLite row per settled request, committed before the response
/// completes, in WAL mode. A `kill -9` keeps every committed row (the WAL is in the file system
/// the moment a commit returns); budgets rebuild their books from it at start-up, and reservations
/// in flight at the crash simply never became rows.
final class SpendLedger: Sendable {
    private let database: Mutex<SQLiteDatabase>
    /// A second connection that checkpoints the WAL into the main file, so the fsync that
    /// takes is paid off the request path (writers keep appending meanwhile).
    private let checkpointer = Mutex<SQLiteDatabase?>(nil)
    let path: String

    static let schemaVersion = 1

    init(path: String) throws {
        self.path = path
        // Small pages: a commit appends a row and an index entry, and each WAL frame is a whole
        // page, so 1 KiB pages write a quarter of the bytes 4 KiB ones would.
        let database = try SQLiteDatabase(path: path, pageSize: 1024)
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS spend (
                id INTEGER PRIMARY KEY,
                time REAL NOT NULL,
                request_id TEXT NOT NULL,
                key_id TEXT NOT NULL,
                tenant TEXT NOT NULL,
                route TEXT NOT NULL,
                model TEXT NOT NULL,
                cost_usd REAL NOT NULL,
                prompt_tokens INTEGER NOT NULL,
                completion_tokens INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS spend_time ON spend(time);
            CREATE TABLE IF NOT EXISTS budget_resets (
                subject TEXT NOT NULL,
                time REAL NOT NULL
            );
            CREATE INDEX IF NOT EXISTS budget_resets_subject ON budget_resets(subject, time);
            """)
        if try database.userVersion() == 0 { try database.setUserVersion(Self.schemaVersion) }
        // Requests never checkpoint; `checkpoint()` does, in the background.
        try database.execute("PRAGMA wal_autocheckpoint=0")
        self.database = Mutex(database)
    }

    /// Commits one settled request. Returns when the row is durable against a process crash.
    func record(_ entry: SpendRecord) throws {
        try database.withLock { database in
            try database.withStatement(
                """
                INSERT INTO spend (time, request_id, key_id, tenant, route, model, cost_usd, prompt_tokens,
                                   completion_tokens)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            ) { statement in
                try statement.bind(
                    .real(entry.time), .text(entry.requestID), .text(entry.keyID), .text(entry.tenant),
                    .text(entry.route), .text(entry.model), .real(entry.costUSD),
                    .integer(Int64(entry.promptTokens)), .integer(Int64(entry.completionTokens)))
                try statement.run()
            }
        }
    }

    /// Every row at or after `since`, oldest first (budgets replay these at start-up).
    func records(since: Double) throws -> [SpendRecord] {
        try database.withLock { database in
            try database.withStatement(
                """
                SELECT time, request_id, key_id, tenant, route, model, cost_usd, prompt_tokens, completion_tokens
                FROM spend WHERE time >= ? ORDER BY time, id
                """
            ) { statement in
                try statement.bind(.real(since))
                var out: [SpendRecord] = []
                while try statement.step() {
                    out.append(
                        SpendRecord(
                            time: statement.double(0), requestID: statement.text(1), keyID: statement.text(2),
                            tenant: statement.text(3), route: statement.text(4), model: statement.text(5),
                            costUSD: statement.double(6), promptTokens: statement.int(7),
                            completionTokens: statement.int(8)))
                }
                return out
            }
        }
    }

    /// Total settled spend, optionally for one key, tenant or route, since `since`.
    func total(since: Double = 0, keyID: String? = nil, tenant: String? = nil, route: String? = nil) throws -> Double {
        var conditions = ["time >= ?"]
        var values: [SQLiteValue] = [.real(since)]
        if let keyID { conditions.append("key_id = ?"); values.append(.text(keyID)) }
        if let tenant { conditions.append("tenant = ?"); values.append(.text(tenant)) }
        if let route { conditions.append("route = ?"); values.append(.text(route)) }
        let sql = "SELECT COALESCE(SUM(cost_usd), 0) FROM spend WHERE " + conditions.joined(separator: " AND ")
        return try database.withLock { database in
            try database.withStatement(sql) { statement in
                try statement.bind(values)
                _ = try statement.step()
                return statement.double(0)
            }
        }
    }

    /// Settled amounts with their times for one key, tenant or route since `since`, oldest first.
    /// `column` is one of the ledger's subject columns: key_id, tenant, route.
    func spend(column: String, value: String, since: Double) throws -> [(time: Double, amount: Double)] {
        precondition(["key_id", "tenant", "route"].contains(column))
        return try database.withLock { database in
            try database.withStatement(
                "SELECT time, cost_usd FROM spend WHERE \(column) = ? AND time >= ? ORDER BY time, id"
            ) { statement in
                try statement.bind(.text(value), .real(since))
                var out: [(time: Double, amount: Double)] = []
                while try statement.step() { out.append((statement.double(0), statement.double(1))) }
                return out
            }
        }
    }

    /// Spend and request count per distinct value of `column` (key_id, tenant, route), dearest first.
    func totals(by column: String) throws -> [(String, Double, Int)] {
        precondition(["key_id", "tenant", "route"].contains(column))
        return try database.withLock { database in
            try database.withStatement(
                "SELECT \(column), SUM(cost_usd), COUNT(*) FROM spend GROUP BY \(column) ORDER BY SUM(cost_usd) DESC"
            ) { statement in
                var out: [(String, Double, Int)] = []
                while try statement.step() { out.append((statement.text(0), statement.double(1), statement.int(2))) }
                return out
            }
        }
    }

    /// Records that a subject's budgets were reset at `time`: spend before it no longer counts.
    func recordReset(subject: String, at time: Double) throws {
        try database.withLock { database in
            try database.withStatement("INSERT INTO budget_resets (subject, time) VALUES (?, ?)") { statement in
                try statement.bind(.text(subject), .real(time))
                try statement.run()
            }
        }
    }

    func lastReset(subject: String) throws -> Double? {
        try database.withLock { database in
            try database.withStatement("SELECT MAX(time) FROM budget_resets WHERE subject = ?") { statement in
                try statement.bind(.text(subject))
                guard try statement.step(), !statement.isNull(0) else { return nil }
                return statement.double(0)
            }
        }
    }

    /// Copies committed WAL frames into the database file (PASSIVE: never waits for writers).
    func checkpoint() throws {
        try checkpointer.withLock { connection in
            if connection == nil { connection = try SQLiteDatabase(path: path) }
            try connection?.execute("PRAGMA wal_checkpoint(PASSIVE)")
        }
    }

    func close() {
        checkpointer.withLock { connection in
            connection?.close()
            connection = nil
        }
        database.withLock { $0.close() }
    }
}
