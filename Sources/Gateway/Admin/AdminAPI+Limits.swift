import Cache
import Foundation
import Router

/// `/admin/keys` and `/admin/spend`: virtual keys, and what each key, tenant and route has
/// spent, has left, and may still send.
extension AdminAPI {
    private var limits: LimitEnforcer { pipeline.limits }

    static let keyFields = ["tenant", "models", "rpm", "tpm", "budgets", "budget_usd", "period", "rolling", "soft_threshold"]

    /// `{"tenant": "acme", "models": ["gpt-4o*"], "rpm": 60, "tpm": 10000,
    ///   "budgets": [{"usd": 5, "period": "day", "rolling": false}], "soft_threshold": 0.8}`;
    /// `budget_usd` + `period` (+ `rolling`) is shorthand for one budget.
    func createKey(body: [UInt8]) async -> Response {
        guard let store = limits.keys else {
            return .error(.unavailable("Virtual keys are not enabled on this gateway.", code: "keys_disabled"))
        }
        let template: VirtualKey
        do {
            template = try Self.keyTemplate(fromJSON: body, now: Clock.wallNow())
        } catch {
            return .error(error)
        }
        do {
            let (key, stored) = try await pipeline.threadPool.runIfActive { () throws -> (String, VirtualKey) in
                var generator = SystemRandomNumberGenerator()
                return try store.create(template, using: &generator)
            }
            logger.notice("virtual key created", metadata: ["tollgate.key_id": "\(stored.id)", "tollgate.tenant": "\(stored.tenant)"])
            var object = Self.describe(stored)
            object["key"] = key
            return .json(object, status: .created)
        } catch {
            return .error(GatewayError(status: .internalServerError, message: "Creating the key failed: \(error)", code: "internal_error"))
        }
    }

    func listKeys() -> Response {
        let keys = limits.keys?.list() ?? []
        return .json(["object": "list", "data": keys.map { Self.describe($0) }])
    }

    func showKey(id: String) -> Response {
        guard let key = limits.keys?.key(id: id) else { return .error(.notFound("No virtual key '\(id)'.", code: "key_not_found")) }
        var object = Self.describe(key)
        object["usage"] = usage(of: LimitSubject(key: key))
        return .json(object)
    }

    func revokeKey(id: String) async -> Response {
        guard let store = limits.keys else { return .error(.notFound("No virtual key '\(id)'.", code: "key_not_found")) }
        do {
            let now = Clock.wallNow()
            let found = try await pipeline.threadPool.runIfActive { try store.revoke(id: id, at: now) }
            guard found else { return .error(.notFound("No virtual key '\(id)'.", code: "key_not_found")) }
            logger.notice("virtual key revoked", metadata: ["tollgate.key_id": "\(id)"])
            return .json(["id": id, "revoked": true])
        } catch {
            return .error(GatewayError(status: .internalServerError, message: "Revoking the key failed: \(error)", code: "internal_error"))
        }
    }

    /// One subject (`?key=`, `?tenant=` or `?route=`) in full, or every subject with spend or limits.
    func spend(query: [String: String]) async -> Response {
        if !query.isEmpty {
            let subject: LimitSubject
            do {
                subject = try self.subject(fields: query)
            } catch {
                return .error(error)
            }
            var object = usage(of: subject)
            object["subject"] = subject.name
            return .json(object)
        }
        guard let ledger = limits.ledger else { return .json(["keys": [Any](), "tenants": [Any](), "routes": [Any]()]) }
        do {
            let totals = try await pipeline.threadPool.runIfActive { () throws -> [String: [(String, Double, Int)]] in
                try ["key_id": ledger.totals(by: "key_id"), "tenant": ledger.totals(by: "tenant"), "route": ledger.totals(by: "route")]
            }
            func rows(_ column: String, _ kind: LimitSubject.Kind) -> [[String: Any]] {
                var seen = Set<String>()
                var out: [[String: Any]] = []
                for (id, usd, requests) in totals[column] ?? [] where !id.isEmpty {
                    seen.insert(id)
                    var row: [String: Any] = ["id": id, "spent_usd": usd, "requests": requests]
                    if let subject = try? subject(kind: kind, id: id), !subject.budgets.isEmpty {
                        row["budgets"] = budgetRows(subject)
                    }
                    out.append(row)
                }
                // Subjects with limits but no spend yet are shown too.
                for subject in configuredSubjects(kind) where !seen.contains(subject.id) {
                    out.append(["id": subject.id, "spent_usd": 0.0, "requests": 0, "budgets": budgetRows(subject)])
                }
                return out
            }
            return .json(["keys": rows("key_id", .key), "tenants": rows("tenant", .tenant), "routes": rows("route", .route)])
        } catch {
            return .error(GatewayError(status: .internalServerError, message: "Reading the ledger failed: \(error)", code: "internal_error"))
        }
    }

    /// `{"key": "vk_…"}`, `{"tenant": "acme"}` or `{"route": "default"}`: zeroes that subject's
    /// budgets from now on (the ledger keeps its rows).
    func resetSpend(body: [UInt8]) async -> Response {
        guard case .object(let object)? = try? JSONParser.parse(body) else {
            return .error(.badRequest("Give the subject to reset as JSON: {\"key\": \"vk_…\"}, {\"tenant\": \"…\"} or {\"route\": \"…\"}.", code: "invalid_json"))
        }
        var fields: [String: String] = [:]
        for key in object.keys {
            guard let text = object[key]?.stringValue else { return .error(.badRequest("'\(key)' must be a string.", param: key)) }
            fields[key] = text
        }
        let subject: LimitSubject
        do {
            subject = try self.subject(fields: fields)
        } catch {
            return .error(error)
        }
        do {
            let now = Clock.wallNow()
            let budgets = limits.budgets
            try await pipeline.threadPool.runIfActive { try budgets.reset(subject, now: now) }
            limits.metrics.clearAlerts(prefix: subject.name + ":")
            logger.notice("budgets reset", metadata: ["tollgate.subject": "\(subject.name)"])
            var out = usage(of: subject)
            out["subject"] = subject.name
            out["reset"] = true
            return .json(out)
        } catch {
            return .error(GatewayError(status: .internalServerError, message: "Reset failed: \(error)", code: "internal_error"))
        }
    }

    // MARK: Subjects

    private func subject(fields: [String: String]) throws(GatewayError) -> LimitSubject {
        let known = ["key", "tenant", "route"]
        if let unknown = fields.keys.first(where: { !known.contains($0) }) {
            throw .badRequest("Unknown field '\(unknown)'; give one of key, tenant, route.", param: unknown)
        }
        guard fields.count == 1, let (name, id) = fields.first else {
            throw .badRequest("Give exactly one of key, tenant, route.")
        }
        switch name {
        case "key": return try subject(kind: .key, id: id)
        case "tenant": return try subject(kind: .tenant, id: id)
        default: return try subject(kind: .route, id: id)
        }
    }

    private func subject(kind: LimitSubject.Kind, id: String) throws(GatewayError) -> LimitSubject {
        switch kind {
        case .key:
            guard let key = limits.keys?.key(id: id) else { throw .notFound("No virtual key '\(id)'.", code: "key_not_found") }
            return LimitSubject(key: key)
        case .tenant:
            return limits.tenantSubjects[id] ?? LimitSubject(kind: .tenant, id: id, limits: UsageLimits())
        case .route:
            guard let route = policies.table.route(named: id) else { throw .notFound("No route '\(id)'.", code: "route_not_found") }
            return LimitSubject(kind: .route, id: route.name, limits: route.limits)
        }
    }

    private func configuredSubjects(_ kind: LimitSubject.Kind) -> [LimitSubject] {
        switch kind {
        case .key:
            return (limits.keys?.list() ?? []).filter { !$0.isRevoked }.map(LimitSubject.init(key:)).filter(\.hasLimits)
        case .tenant:
            return limits.tenantSubjects.values.sorted { $0.id < $1.id }
        case .route:
            return policies.table.routes.filter { !$0.limits.isEmpty }.map { LimitSubject(kind: .route, id: $0.name, limits: $0.limits) }
        }
    }

    /// Budgets with spend, reservations and reset times; rate windows with what is left now.
    func usage(of subject: LimitSubject) -> [String: Any] {
        var rates: [String: Any] = [:]
        let now = Clock.wallNow()
        if let rpm = subject.requestsPerMinute {
            rates["requests"] = Self.describe(limits.rates.status(key: subject.requestsKey, window: RateWindow(limit: rpm), now: now))
        }
        if let tpm = subject.tokensPerMinute {
            rates["tokens"] = Self.describe(limits.rates.status(key: subject.tokensKey, window: RateWindow(limit: tpm), now: now))
        }
        var object: [String: Any] = ["budgets": budgetRows(subject), "rate_limits": rates]
        if let ledger = limits.ledger {
            let column = subject.ledgerColumn
            object["spent_total_usd"] = (try? ledger.total(
                keyID: column == "key_id" ? subject.id : nil, tenant: column == "tenant" ? subject.id : nil,
                route: column == "route" ? subject.id : nil)) ?? 0
        }
        return object
    }

    private func budgetRows(_ subject: LimitSubject) -> [[String: Any]] {
        limits.budgets.status(subject, now: Clock.wallNow()).map { status in
            var row: [String: Any] = [
                "budget": status.id.name,
                "usd": status.id.limitUSD,
                "period": Self.periodName(status.id.period),
                "rolling": status.id.period.isRolling,
                "spent_usd": status.spent,
                "reserved_usd": status.reserved,
                "remaining_usd": status.remaining,
                "resets_at": status.resetsAt.map(LimitRefusal.timestamp) ?? NSNull(),
            ]
            if let threshold = status.softThreshold {
                row["soft_threshold"] = threshold
                row["alert"] = status.spent >= threshold * status.id.limitUSD
            }
            return row
        }
    }

    // MARK: JSON

    static func describe(_ key: VirtualKey) -> [String: Any] {
        [
            "id": key.id,
            "object": "virtual_key",
            "tenant": key.tenant,
            "models": key.models,
            "rpm": key.requestsPerMinute.map { $0 as Any } ?? NSNull(),
            "tpm": key.tokensPerMinute.map { $0 as Any } ?? NSNull(),
            "budgets": key.budgets.map { ["usd": $0.limitUSD, "period": periodName($0.period), "rolling": $0.period.isRolling] },
            "soft_threshold": key.softThreshold.map { $0 as Any } ?? NSNull(),
            "created_at": LimitRefusal.timestamp(key.createdAt),
            "revoked": key.isRevoked,
            "revoked_at": key.revokedAt.map { LimitRefusal.timestamp($0) as Any } ?? NSNull(),
        ]
    }

    static func describe(_ status: RateWindow.Status) -> [String: Any] {
        ["limit": status.limit, "remaining": status.remaining, "reset_seconds": status.resetSeconds]
    }

    static func periodName(_ period: BudgetPeriod) -> String {
        switch period {
        case .day, .rollingDay: "day"
        case .week, .rollingWeek: "week"
        case .month, .rollingMonth: "month"
        case .total: "total"
        }
    }

    static func keyTemplate(fromJSON body: [UInt8], now: Double) throws(GatewayError) -> VirtualKey {
        guard case .object(let object)? = try? JSONParser.parse(body) else {
            throw .badRequest("The key must be described by a JSON object such as {\"tenant\": \"acme\"}.", code: "invalid_json")
        }
        if let unknown = object.keys.first(where: { !keyFields.contains($0) }) {
            throw .badRequest("Unknown field '\(unknown)'; expected \(keyFields.joined(separator: ", ")).", param: unknown)
        }
        guard case .string(let tenant)? = object["tenant"], !tenant.isEmpty, !tenant.contains(":") else {
            throw .badRequest("'tenant' is required: a non-empty name without ':'.", code: "missing_required_parameter", param: "tenant")
        }
        var models: [String] = []
        if let value = object["models"] {
            guard let items = value.arrayValue, items.allSatisfy({ ($0.stringValue ?? "").isEmpty == false }) else {
                throw .badRequest("'models' must be an array of model names or globs.", param: "models")
            }
            models = items.compactMap(\.stringValue)
        }
        func positiveInt(_ name: String) throws(GatewayError) -> Int? {
            guard let value = object[name], !value.isNull else { return nil }
            guard let number = value.intValue, number > 0 else { throw .badRequest("'\(name)' must be a positive integer.", param: name) }
            return number
        }
        var budgets: [VirtualKey.BudgetSpec] = []
        func budget(_ fields: JSONObject, param: String) throws(GatewayError) -> VirtualKey.BudgetSpec {
            guard let usd = fields["usd"]?.doubleValue ?? fields["budget_usd"]?.doubleValue, usd > 0, usd.isFinite else {
                throw .badRequest("A budget needs a positive 'usd'.", param: param)
            }
            let name = fields["period"]?.stringValue ?? "month"
            let rolling = fields["rolling"]?.boolValue ?? false
            guard let period = BudgetPeriod(name: name, rolling: rolling) else {
                throw .badRequest("'period' must be day, week, month or total.", param: param)
            }
            return VirtualKey.BudgetSpec(limitUSD: usd, period: period)
        }
        if let value = object["budgets"] {
            guard let items = value.arrayValue else { throw .badRequest("'budgets' must be an array.", param: "budgets") }
            for (index, item) in items.enumerated() {
                guard let fields = item.objectValue else { throw .badRequest("budgets[\(index)] must be an object.", param: "budgets") }
                budgets.append(try budget(fields, param: "budgets[\(index)]"))
            }
        }
        if object["budget_usd"] != nil { budgets.append(try budget(object, param: "budget_usd")) }
        var threshold: Double?
        if let value = object["soft_threshold"], !value.isNull {
            guard let number = value.doubleValue, number > 0, number <= 1 else {
                throw .badRequest("'soft_threshold' must be a number in (0, 1].", param: "soft_threshold")
            }
            threshold = number
        }
        return VirtualKey(
            id: "", tenant: tenant, models: models, requestsPerMinute: try positiveInt("rpm"),
            tokensPerMinute: try positiveInt("tpm"), budgets: budgets, softThreshold: threshold, createdAt: now,
            revokedAt: nil)
    }
}
