import Cache
import Synchronization

/// Virtual keys in SQLite, looked up by the SHA-256 of the presented key. The table is read
/// into memory at start-up and kept in step with every change, so checking a key on the hot
/// path is one hash and one dictionary lookup.
final class VirtualKeyStore: Sendable {
    private struct State {
        var database: SQLiteDatabase
        var byHash: [CacheKey: VirtualKey]
    }

    private let state: Mutex<State>
    private let changeCount = Atomic<UInt64>(0)

    /// Moves on at every create and revoke: a connection that remembered its key's lookup
    /// checks again when this changed.
    var generation: UInt64 { changeCount.load(ordering: .acquiring) }

    /// The prefix every issued key starts with, so a leaked one is easy to recognise.
    static let keyPrefix = "tg-"

    init(path: String) throws {
        let database = try SQLiteDatabase(path: path)
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS virtual_keys (
                id TEXT PRIMARY KEY,
                key_hash BLOB NOT NULL UNIQUE,
                tenant TEXT NOT NULL,
                models TEXT NOT NULL,
                rpm INTEGER,
                tpm INTEGER,
                budgets TEXT NOT NULL,
                soft_threshold REAL,
                created_at REAL NOT NULL,
                revoked_at REAL
            )
            """)
        var byHash: [CacheKey: VirtualKey] = [:]
        try database.withStatement(
            "SELECT id, key_hash, tenant, models, rpm, tpm, budgets, soft_threshold, created_at, revoked_at FROM virtual_keys"
        ) { statement in
            while try statement.step() {
                guard let hash = CacheKey(bytes: statement.blob(1)) else { continue }
                byHash[hash] = VirtualKey(
                    id: statement.text(0), tenant: statement.text(2), models: Self.decodeList(statement.text(3)),
                    requestsPerMinute: statement.isNull(4) ? nil : statement.int(4),
                    tokensPerMinute: statement.isNull(5) ? nil : statement.int(5),
                    budgets: Self.decodeBudgets(statement.text(6)),
                    softThreshold: statement.isNull(7) ? nil : statement.double(7),
                    createdAt: statement.double(8), revokedAt: statement.isNull(9) ? nil : statement.double(9))
            }
        }
        state = Mutex(State(database: database, byHash: byHash))
    }

    static func hash(of key: String) -> CacheKey {
        var hasher = SHA256Hasher()
        hasher.updateField("tollgate-virtual-key-v1")
        hasher.update(key)
        return hasher.finalize()
    }

    /// Issues a new key: returns the plain key (shown once) and what was stored.
    func create(_ template: VirtualKey, using generator: inout some RandomNumberGenerator) throws -> (key: String, stored: VirtualKey) {
        let secret = (0..<4).map { _ in String(generator.next(), radix: 16).leftPadded(to: 16) }.joined()
        let key = Self.keyPrefix + secret
        var stored = template
        stored.id = "vk_" + String(generator.next() & 0xFFFF_FFFF_FFFF, radix: 36)
        let hash = Self.hash(of: key)
        try state.withLock { state in
            try state.database.withStatement(
                """
                INSERT INTO virtual_keys (id, key_hash, tenant, models, rpm, tpm, budgets, soft_threshold, created_at,
                                          revoked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
                """
            ) { statement in
                try statement.bind(
                    .text(stored.id), .blob(hash.bytes), .text(stored.tenant), .text(Self.encodeList(stored.models)),
                    stored.requestsPerMinute.map { .integer(Int64($0)) } ?? .null,
                    stored.tokensPerMinute.map { .integer(Int64($0)) } ?? .null,
                    .text(Self.encodeBudgets(stored.budgets)), stored.softThreshold.map { .real($0) } ?? .null,
                    .real(stored.createdAt))
                try statement.run()
            }
            state.byHash[hash] = stored
        }
        changeCount.add(1, ordering: .releasing)
        return (key, stored)
    }

    /// The key presented by a client, if it exists (revoked keys are returned, marked so).
    func lookup(_ key: String) -> VirtualKey? {
        let hash = Self.hash(of: key)
        return state.withLock { $0.byHash[hash] }
    }

    func key(id: String) -> VirtualKey? {
        state.withLock { state in state.byHash.values.first { $0.id == id } }
    }

    /// Every key, oldest first.
    func list() -> [VirtualKey] {
        state.withLock { state in state.byHash.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) } }
    }

    /// Marks a key revoked; false when there is no such key.
    func revoke(id: String, at time: Double) throws -> Bool {
        try state.withLock { state in
            guard let (hash, key) = state.byHash.first(where: { $0.value.id == id }) else { return false }
            try state.database.withStatement("UPDATE virtual_keys SET revoked_at = ? WHERE id = ?") { statement in
                try statement.bind(.real(time), .text(id))
                try statement.run()
            }
            var revoked = key
            revoked.revokedAt = time
            state.byHash[hash] = revoked
            changeCount.add(1, ordering: .releasing)
            return true
        }
    }

    // MARK: Columns

    /// Model globs never contain a newline, so one per line is enough.
    static func encodeList(_ items: [String]) -> String { items.joined(separator: "\n") }
    static func decodeList(_ text: String) -> [String] { text.isEmpty ? [] : text.split(separator: "\n").map(String.init) }

    /// "limit period" per line, e.g. "10.5 month" or "2 rolling-day".
    static func encodeBudgets(_ budgets: [VirtualKey.BudgetSpec]) -> String {
        budgets.map { "\($0.limitUSD) \($0.period.storageName)" }.joined(separator: "\n")
    }

    static func decodeBudgets(_ text: String) -> [VirtualKey.BudgetSpec] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let limit = Double(parts[0]), let period = BudgetPeriod(storageName: String(parts[1]))
            else { return nil }
            return VirtualKey.BudgetSpec(limitUSD: limit, period: period)
        }
    }
}

extension BudgetPeriod {
    var storageName: String {
        switch self {
        case .day: "day"
        case .week: "week"
        case .month: "month"
        case .total: "total"
        case .rollingDay: "rolling-day"
        case .rollingWeek: "rolling-week"
        case .rollingMonth: "rolling-month"
        }
    }

    init?(storageName: String) {
        let rolling = storageName.hasPrefix("rolling-")
        self.init(name: rolling ? String(storageName.dropFirst(8)) : storageName, rolling: rolling)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
