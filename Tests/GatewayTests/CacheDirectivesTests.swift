import Cache
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

    @Test func maxAgeAcceptsOnlyYoungEnoughEntries() {
        let entry = CachedResponse(
            metadata: EntryMetadata(
                key: CacheKey(words: (1, 2, 3, 4)), tenant: "t", route: "r", endpoint: "chat", model: "m",
                createdAt: 100, expiresAt: 1000
            ),
            body: []
        )
        let directives = CacheDirectives(header: "max-age=30")
        #expect(directives.accepts(entry, now: 130))
        #expect(!directives.accepts(entry, now: 131))
        #expect(CacheDirectives().accepts(entry, now: 999))
    }
}
