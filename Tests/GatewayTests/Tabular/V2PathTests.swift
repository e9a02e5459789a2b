import Testing

@testable import Gateway

@Suite struct V2PathTests {
    @Test func parsesModelPaths() {
        #expect(V2Path("/v2") == .server)
        #expect(V2Path("/v2/models/iris") == .model(name: "iris", version: nil, action: .metadata))
        #expect(V2Path("/v2/models/iris/ready") == .model(name: "iris", version: nil, action: .ready))
        #expect(V2Path("/v2/models/iris/infer") == .model(name: "iris", version: nil, action: .infer))
        #expect(V2Path("/v2/models/iris/versions/2/infer") == .model(name: "iris", version: "2", action: .infer))
        #expect(V2Path("/v2/models/my%20model/versions/v1") == .model(name: "my model", version: "v1", action: .metadata))
    }

    @Test func rejectsOtherShapes() {
        #expect(V2Path("/v2/models/") == nil)
        #expect(V2Path("/v2/models/iris/explain") == nil)
        #expect(V2Path("/v2/models/iris/versions/") == nil)
        #expect(V2Path("/v2/models/bad%zz") == nil)
        #expect(V2Path("/v1/models/iris") == nil)
    }
}
