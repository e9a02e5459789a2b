import Testing

@testable import Router

@Suite struct TOMLLineLocatorTests {
    @Test func tablesKeysAndInlineTables() {
        let text = """
            # Backends
            [backends.openai]
            type = "openai"
            url = "https://api.openai.com/v1"   # trailing comment with [brackets]
            circuit_breaker = { failure_threshold = 5, cooldown_seconds = 30 }

            [backends.vllm]
            replicas = ["http://127.0.0.1:9001/v1", "http://127.0.0.1:9002/v1"]
            """
        let locator = TOMLLineLocator(text: text)
        #expect(locator.line(for: "backends") == 2)
        #expect(locator.line(for: "backends.openai") == 2)
        #expect(locator.line(for: "backends.openai.type") == 3)
        #expect(locator.line(for: "backends.openai.url") == 4)
        #expect(locator.line(for: "backends.openai.circuit_breaker") == 5)
        #expect(locator.line(for: "backends.openai.circuit_breaker.cooldown_seconds") == 5)
        #expect(locator.line(for: "backends.vllm") == 7)
        #expect(locator.line(for: "backends.vllm.replicas[1]") == 8)
        #expect(locator.line(for: "backends.vllm.replicas[2]") == nil)
    }

    @Test func arraysOfTablesAreIndexedByOccurrence() {
        let text = """
            [[routes]]
            name = "chat"

            [[routes]]
            name = "embed"
            retry.attempts = 2
            [routes.cache]
            ttl_seconds = 60

            [[routes]]
            name = "rest"
            """
        let locator = TOMLLineLocator(text: text)
        #expect(locator.line(for: "routes") == 1)
        #expect(locator.line(for: "routes[0]") == 1)
        #expect(locator.line(for: "routes[0].name") == 2)
        #expect(locator.line(for: "routes[1]") == 4)
        #expect(locator.line(for: "routes[1].name") == 5)
        #expect(locator.line(for: "routes[1].retry") == 6)
        #expect(locator.line(for: "routes[1].retry.attempts") == 6)
        #expect(locator.line(for: "routes[1].cache") == 7)
        #expect(locator.line(for: "routes[1].cache.ttl_seconds") == 8)
        #expect(locator.line(for: "routes[2].name") == 11)
        #expect(locator.line(for: "routes[0].cache") == nil)
    }

    @Test func multiLineArraysReportEachElementsLine() {
        let text = """
            [[routes]]
            backends = [
                { backend = "openai", weight = 3 },  # the big one
                # a comment line inside the array
                { backend = "vllm",
                  weight = 1 },
            ]
            name = "after"
            """
        let locator = TOMLLineLocator(text: text)
        #expect(locator.line(for: "routes[0].backends") == 2)
        #expect(locator.line(for: "routes[0].backends[0]") == 3)
        #expect(locator.line(for: "routes[0].backends[0].weight") == 3)
        #expect(locator.line(for: "routes[0].backends[1]") == 5)
        #expect(locator.line(for: "routes[0].backends[1].weight") == 6)
        #expect(locator.line(for: "routes[0].name") == 8)
    }

    @Test func multiLineStringBodiesAreSkipped() {
        let text = #"""
            a = """
            [[routes]]
            name = "not a key"
            """
            b = '''
            [fake]
            '''
            c = "quote \" and # hash"
            d = 'literal # not a comment'
            [real]
            e = 1
            """#
        let locator = TOMLLineLocator(text: text)
        #expect(locator.line(for: "a") == 1)
        #expect(locator.line(for: "routes") == nil)
        #expect(locator.line(for: "name") == nil)
        #expect(locator.line(for: "fake") == nil)
        #expect(locator.line(for: "b") == 5)
        #expect(locator.line(for: "c") == 8)
        #expect(locator.line(for: "d") == 9)
        #expect(locator.line(for: "real") == 10)
        #expect(locator.line(for: "real.e") == 11)
    }

    @Test func quotedAndDottedKeys() {
        let text = """
            [aliases]
            "gpt-4.1" = "gpt-4.1-2025"
            'odd key' = "x"
            fast = "gpt-4o-mini"

            [server]
            limits.max_body = 10
            """
        let locator = TOMLLineLocator(text: text)
        #expect(locator.line(for: #"aliases."gpt-4.1""#) == 2)
        #expect(locator.line(for: "aliases.'odd key'") == 3)
        #expect(locator.line(for: #"aliases."odd key""#) == 3)
        #expect(locator.line(for: "aliases.fast") == 4)
        #expect(locator.line(for: "server.limits") == 7)
        #expect(locator.line(for: "server.limits.max_body") == 7)
    }

    @Test func explicitTableReplacesImplicitLine() {
        let text = """
            [a.b]
            x = 1
            [a]
            y = 2
            """
        let locator = TOMLLineLocator(text: text)
        #expect(locator.line(for: "a") == 3)
        #expect(locator.line(for: "a.b") == 1)
        #expect(locator.line(for: "a.y") == 4)
    }

    @Test func nearestLineFallsBackToTheEnclosingTable() {
        let text = "[[routes]]\nname = \"a\"\n\n[[routes]]\nkinds = [\"chat\"]\n"
        let locator = TOMLLineLocator(text: text)
        #expect(locator.line(for: "routes[1].name") == nil)
        #expect(locator.nearestLine(for: "routes[1].name") == 4)
        #expect(locator.nearestLine(for: "routes[1].kinds[0]") == 5)
        #expect(locator.nearestLine(for: "nothing.here") == nil)
    }

    @Test func windowsLineEndingsAndByteOrderMark() {
        let text = "\u{FEFF}[server]\r\nlisten = \"127.0.0.1:8080\"\r\n\r\n[cache]\r\nenabled = true\r\n"
        let locator = TOMLLineLocator(text: text)
        #expect(locator.line(for: "server.listen") == 2)
        #expect(locator.line(for: "cache") == 4)
        #expect(locator.line(for: "cache.enabled") == 5)
    }

    @Test func malformedPathsFindNothing() {
        let locator = TOMLLineLocator(text: "a = 1\n")
        #expect(locator.line(for: "") == nil)
        #expect(locator.line(for: "a.") == nil)
        #expect(locator.line(for: "[0]") == nil)
        #expect(locator.line(for: "a") == 1)
    }

    @Test func gatewayConfigLayoutFromTheContract() {
        let text = """
            [server]
            listen = "127.0.0.1:8080"
            admin_token = ""                       # empty: $TOLLGATE_ADMIN_TOKEN
            policies_dir = "policies"              # relative to the config file

            [cache]
            enabled = true
            disk_path = "data/cache.sqlite"        # "" = no disk tier

            [log]
            level = "info"
            """
        let locator = TOMLLineLocator(text: text)
        #expect(locator.line(for: "server.admin_token") == 3)
        #expect(locator.line(for: "server.policies_dir") == 4)
        #expect(locator.line(for: "cache.disk_path") == 8)
        #expect(locator.line(for: "log.level") == 11)
        #expect(locator.nearestLine(for: "log.format") == 10)
    }
}
