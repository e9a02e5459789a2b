import Testing

@testable import Gateway

@Suite struct GatewayConfigTests {
    @Test func defaultsApplyWhenTheFileIsEmpty() throws {
        let config = try GatewayConfig.parse(text: "", path: "config.toml")
        #expect(config.server.listen == HostPort(host: "127.0.0.1", port: 8080))
        #expect(config.server.adminListen == HostPort(host: "127.0.0.1", port: 8081))
        #expect(config.cache.enabled)
    }

    @Test func valuesAreRead() throws {
        let text = """
            [server]
            listen = "0.0.0.0:9000"
            admin_listen = "[::1]:9001"
            max_body_bytes = 2048
            request_timeout_seconds = 2.5
            [cache]
            disk_path = ""
            [log]
            access_log = false
            """
        let config = try GatewayConfig.parse(text: text, path: "c.toml")
        #expect(config.server.listen == HostPort(host: "0.0.0.0", port: 9000))
        #expect(config.server.adminListen.host == "::1")
        #expect(config.server.adminListen.isLoopback)
        #expect(!config.server.listen.isLoopback)
        #expect(config.server.maxBodyBytes == 2048)
        #expect(config.server.requestTimeoutSeconds == 2.5)
        #expect(config.cache.diskPath == "")
        #expect(!config.log.accessLog)
    }

    @Test func everyProblemIsReportedWithFileLineAndKey() {
        let text = """
            [server]
            listen = "nowhere"
            threads = "two"
            lisen = "127.0.0.1:1"
            [log]
            level = "loud"
            """
        do {
            _ = try GatewayConfig.load(text: text, path: "bad.toml")
            Issue.record("a bad config was accepted")
        } catch {
            let lines = error.problems.map(\.description)
            #expect(error.problems.count == 4)
            #expect(lines.contains { $0.hasPrefix("bad.toml:2: server.listen:") })
            #expect(lines.contains { $0.hasPrefix("bad.toml:3: server.threads: expected an integer") })
            #expect(lines.contains { $0.hasPrefix("bad.toml:4: server.lisen: unknown key") })
            #expect(lines.contains { $0.hasPrefix("bad.toml:6: log.level:") })
        }
    }

    @Test func syntaxErrorsCarryTheirLine() {
        do {
            _ = try GatewayConfig.parse(text: "[server]\nlisten = \n", path: "x.toml")
            Issue.record("a syntax error was accepted")
        } catch {
            #expect(error.problems.first?.line == 2)
        }
    }

    @Test func hostPortParsing() {
        #expect(HostPort(parsing: "localhost:80") == HostPort(host: "localhost", port: 80))
        #expect(HostPort(parsing: "[::1]:443")?.description == "[::1]:443")
        #expect(HostPort(parsing: "1.2.3.4") == nil)
        #expect(HostPort(parsing: "h:99999") == nil)
    }
}
