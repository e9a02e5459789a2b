import Cache
import NIOHTTP1
import Testing

@testable import Gateway

@Suite struct GatewayErrorTests {
    @Test func bodyIsOpenAIShapedAndEscaped() throws {
        let error = GatewayError.badRequest("bad \"thing\"\n", param: "model")
        let parsed = try JSONParser.parse(error.body)
        #expect(parsed["error"]?["message"]?.stringValue == "bad \"thing\"\n")
        #expect(parsed["error"]?["type"]?.stringValue == "invalid_request_error")
        #expect(parsed["error"]?["param"]?.stringValue == "model")
        #expect(parsed["error"]?["code"]?.stringValue == "invalid_request")
    }

    @Test func typesFollowStatus() {
        #expect(GatewayError(status: .unauthorized, message: "").type == "authentication_error")
        #expect(GatewayError(status: .tooManyRequests, message: "").type == "rate_limit_error")
        #expect(GatewayError(status: .badGateway, message: "").type == "api_error")
        #expect(GatewayError.modelNotFound("x").status.code == 404)
    }

    @Test func tenantsAreHashedKeys() {
        var headers = NIOHTTP1.HTTPHeaders()
        #expect(TenantResolver.tenant(for: headers) == "anonymous")
        headers.add(name: "Authorization", value: "Bearer sk-one")
        let one = TenantResolver.tenant(for: headers)
        headers.replaceOrAdd(name: "Authorization", value: "Bearer sk-two")
        let two = TenantResolver.tenant(for: headers)
        #expect(one.hasPrefix("k-") && one.count == 18)
        #expect(one != two)
        #expect(!one.contains("sk-one"))
    }
}

@Suite struct AccessLogTests {
    @Test func fixedPointFormatting() {
        for (value, text) in [(0.0, "0.000"), (1.5, "1.500"), (12.0345, "12.035"), (0.007, "0.007"), (1795602772.8971, "1795602772.897")] {
            var out: [UInt8] = []
            AccessLog.appendFixed3(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == text)
        }
    }
}
