import Testing

@testable import Gateway

@Suite struct CacheDirectivesTests {
    @Test func parsesTheDirectivesTollgateHonours() {
        let directives = CacheDirectives(header: "No-Cache, max-age=\"30\", private")
        #expect(directives.noCache)
        #expect(!directives.noStore)
        #expect(directives.maxAge == 30)
        #expect(!directives.allowsLookup)
    }

    @Test func noStoreForbidsLookupAndStore() {
        let directives = CacheDirectives(header: "no-store")
        #expect(directives.noStore)
        #expect(!directives.allowsLookup)
    }

    @Test func garbageIsIgnored() {
        let directives = CacheDirectives(header: "max-age=soon, ,,")
        #expect(directives == CacheDirectives())
        #expect(directives.allowsLookup)
    }
}
