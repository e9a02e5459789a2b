import Cache
import Foundation
import Testing

/// An open database in a fresh directory under /tmp, removed afterwards.
private final class Scratch {
    let directory = "/tmp/tollgate-sqlite-\(UUID().uuidString)"
    let database: SQLiteDatabase

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        database = try SQLiteDatabase(path: directory + "/test.sqlite")
        try database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB)")
    }

    func count() throws -> Int {
        try database.withStatement("SELECT count(*) FROM t") { row in try row.step() ? row.int(0) : -1 }
    }

    deinit {
        database.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite struct SQLiteDatabaseTests {
    @Test func valuesRoundTrip() throws {
        let scratch = try Scratch()
        let db = scratch.database
        let insert = "INSERT INTO t (i, r, s, b) VALUES (?, ?, ?, ?)"
        try db.withStatement(insert) { statement in
            try statement.bind(.integer(Int64.min), .real(-1.5), .text("héllo\u{1F}x"), .blob([0, 1, 255]))
            try statement.run()
        }
        try db.withStatement(insert) { statement in
            try statement.bind(.null, .null, .text(""), .blob([]))
            try statement.run()
        }
        #expect(db.changes == 1)
        let rows = try db.withStatement("SELECT i, r, s, b, b IS NULL FROM t ORDER BY id") { row in
            var rows: [(Int?, Double, String, [UInt8], Int)] = []
            while try row.step() {
                rows.append((row.isNull(0) ? nil : row.int(0), row.double(1), row.text(2), row.blob(3), row.int(4)))
            }
            return rows
        }
        #expect(rows.count == 2)
        #expect(rows[0].0 == Int(Int64.min))
        #expect(rows[0].1 == -1.5)
        #expect(rows[0].2 == "héllo\u{1F}x")
        #expect(rows[0].3 == [0, 1, 255])
        #expect(rows[1].0 == nil)
        // An empty blob stays an empty blob, not NULL.
        #expect(rows[1].3 == [])
        #expect(rows[1].4 == 0)
    }

    @Test func aFailedTransactionLeavesNoTrace() throws {
        let scratch = try Scratch()
        let db = scratch.database
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try db.transaction {
                try db.execute("INSERT INTO t (i) VALUES (1)")
                throw Abort()
            }
        }
        #expect(try scratch.count() == 0)
        // A nested transaction is a savepoint: its failure undoes only its own writes.
        try db.transaction {
            try db.execute("INSERT INTO t (i) VALUES (1)")
            _ = try? db.transaction {
                try db.execute("INSERT INTO t (i) VALUES (2)")
                throw Abort()
            }
        }
        #expect(try scratch.count() == 1)
    }

    @Test func badSQLIsAnErrorWithSQLitesMessage() throws {
        let scratch = try Scratch()
        let error = try #require(throws: SQLiteError.self) {
            try scratch.database.prepare("SELEKT 1")
        }
        #expect(error.code == 1)
        #expect(error.description.contains("syntax error"))
    }

    @Test func userVersionPersists() throws {
        let scratch = try Scratch()
        #expect(try scratch.database.userVersion() == 0)
        try scratch.database.setUserVersion(7)
        let reopened = try SQLiteDatabase(path: scratch.directory + "/test.sqlite")
        #expect(try reopened.userVersion() == 7)
    }
}
