import Cache
import Testing

@testable import Gateway

@Suite struct AdminAPITests {
    @Test func selectorFromJSON() throws {
        let selector = try AdminAPI.selector(
            fromJSON: Array(#"{"model":"gpt-*","older_than":60,"key_prefix":"AB12"}"#.utf8)
        )
        #expect(selector.model == "gpt-*")
        #expect(selector.olderThan == 60)
        #expect(selector.keyPrefix == "ab12")
    }

    @Test func emptySelectorIsRefusedUnlessAllIsSaid() throws {
        #expect(throws: GatewayError.self) { try AdminAPI.selector(fromJSON: Array("{}".utf8)) }
        #expect(throws: GatewayError.self) { try AdminAPI.selector(fromJSON: []) }
        let all = try AdminAPI.selector(fromJSON: Array(#"{"all":true}"#.utf8))
        #expect(all.isEmpty)
    }

    @Test func unknownFieldsAndBadValuesAreNamed() {
        do {
            _ = try AdminAPI.selector(fromJSON: Array(#"{"modle":"x"}"#.utf8))
            Issue.record("accepted an unknown field")
        } catch {
            #expect(error.status.code == 400)
            #expect(error.message.contains("modle"))
        }
        #expect(throws: GatewayError.self) { try AdminAPI.selector(fromQuery: ["key": "zz"]) }
        #expect(throws: GatewayError.self) { try AdminAPI.selector(fromQuery: ["older_than": "-1"]) }
    }

    @Test func queryStringsDecode() {
        let query = AdminHandler.parseQuery("model=gpt%2A&limit=5&tag=a+b")
        #expect(query == ["model": "gpt*", "limit": "5", "tag": "a b"])
    }

    @Test func adminAccessFollowsTheLoopbackRule() {
        let loopback = HostPort(host: "127.0.0.1", port: 1)
        let everywhere = HostPort(host: "0.0.0.0", port: 1)
        if case .open = AdminAccess(token: nil, address: loopback) {} else { Issue.record("loopback without token should be open") }
        if case .refuseAll = AdminAccess(token: "", address: everywhere) {} else { Issue.record("public without token must refuse") }
        if case .token("t") = AdminAccess(token: "t", address: everywhere) {} else { Issue.record("token should apply") }
        #expect(AdminHandler.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!AdminHandler.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
    }
}
