import Router
import Testing

@testable import Gateway

@Suite struct LimitsConfigTests {
    @Test func limitsAndTenantsAreRead() throws {
        let config = try GatewayConfig.load(
            text: """
                [limits]
                auth = "keys"
                keys_path = "k.sqlite"
                ledger_path = "/var/lib/tollgate/spend.sqlite"
                default_max_tokens = 512
                cache_hits_free = false

                [limits.tenants.acme]
                rpm = 100
                tpm = 20000
                budgets = [{ usd = 50, period = "month" }, { usd = 5, period = "day", rolling = true }]
                soft_threshold = 0.75
                """,
            path: "/etc/tollgate/config.toml")
        let limits = config.limits
        #expect(limits.auth == .keys)
        #expect(config.resolve(limits.keysPath) == "/etc/tollgate/k.sqlite")
        #expect(limits.ledgerPath == "/var/lib/tollgate/spend.sqlite")
        #expect(limits.defaultMaxTokens == 512)
        #expect(!limits.cacheHitsFree)
        let acme = try #require(limits.tenants["acme"])
        #expect(acme.requestsPerMinute == 100 && acme.tokensPerMinute == 20000 && acme.softThreshold == 0.75)
        #expect(acme.budgets == [BudgetLimit(usd: 50, period: .month), BudgetLimit(usd: 5, period: .day, rolling: true)])
    }

    @Test func keysAreRequiredByDefaultOnlyBeyondLoopback() {
        let limits = LimitsConfig()
        #expect(!limits.requiresKeys(listen: HostPort(host: "127.0.0.1", port: 8080)))
        #expect(limits.requiresKeys(listen: HostPort(host: "0.0.0.0", port: 8080)))
        var open = LimitsConfig()
        open.auth = .open
        #expect(!open.requiresKeys(listen: HostPort(host: "0.0.0.0", port: 8080)))
        var keys = LimitsConfig()
        keys.auth = .keys
        #expect(keys.requiresKeys(listen: HostPort(host: "::1", port: 8080)))
    }

    @Test func badLimitsAreReportedWithLineAndKey() {
        let text = """
            [limits]
            auth = "sometimes"
            default_max_tokens = 0

            [limits.tenants.acme]
            rpm = -1
            budgets = [{ usd = 0, period = "day" }, { usd = 5, period = "fortnight" }, { usd = 5, period = "day", cap = 1 }]
            soft_threshold = 2
            """
        #expect {
            _ = try GatewayConfig.load(text: text, path: "c.toml")
        } throws: { error in
            guard let errors = error as? ConfigErrors else { return false }
            let keys = Set(errors.problems.map(\.key))
            let expected: Set = [
                "limits.auth", "limits.default_max_tokens", "limits.tenants.acme.rpm",
                "limits.tenants.acme.budgets[0].usd", "limits.tenants.acme.budgets[1].period",
                "limits.tenants.acme.budgets[2].cap", "limits.tenants.acme.soft_threshold",
            ]
            return keys == expected && errors.problems.allSatisfy { $0.line != nil && $0.file == "c.toml" }
        }
    }

    @Test func adminKeyRequestsAreValidated() throws {
        let key = try AdminAPI.keyTemplate(
            fromJSON: Array(#"{"tenant":"acme","models":["gpt-4o*"],"rpm":60,"budget_usd":5,"period":"day","rolling":true}"#.utf8),
            now: 10)
        #expect(key.tenant == "acme" && key.models == ["gpt-4o*"] && key.requestsPerMinute == 60)
        #expect(key.budgets == [.init(limitUSD: 5, period: .rollingDay)])
        for bad in [
            #"{}"#, #"{"tenant":""}"#, #"{"tenant":"a:b"}"#, #"{"tenant":"a","rpm":0}"#, #"{"tenant":"a","secret":1}"#,
            #"{"tenant":"a","budgets":[{"usd":5,"period":"year"}]}"#, #"{"tenant":"a","soft_threshold":1.5}"#, "nope",
        ] {
            #expect(throws: GatewayError.self, "\(bad)") { try AdminAPI.keyTemplate(fromJSON: Array(bad.utf8), now: 0) }
        }
    }
}
