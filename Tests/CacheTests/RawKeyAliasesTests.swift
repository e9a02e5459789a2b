import Cache
import Testing

private func key(_ name: String) -> CacheKey {
    var hasher = SHA256Hasher()
    hasher.update(name)
    return hasher.finalize()
}

@Suite struct RawKeyAliasesTests {
    @Test func recordsAndLooksUp() {
        let aliases = RawKeyAliases()
        let alias = RawAlias(canonical: key("c"), wantsStream: true, includeUsage: true)
        #expect(aliases.lookup(key("raw")) == nil)
        aliases.record(key("raw"), alias)
        #expect(aliases.lookup(key("raw")) == alias)
        aliases.remove(key("raw"))
        #expect(aliases.lookup(key("raw")) == nil)
    }

    @Test func staysWithinItsBoundAndKeepsRecentAliases() {
        let aliases = RawKeyAliases(maxEntries: 1000, shardCount: 4)
        for i in 0..<10_000 {
            aliases.record(key("raw\(i)"), RawAlias(canonical: key("c\(i)"), wantsStream: false, includeUsage: false))
            #expect(aliases.count <= 1000)
        }
        // The most recent records are always kept: at least a quarter of the bound, per shard.
        let recent = (9_900..<10_000).filter { aliases.lookup(key("raw\($0)")) != nil }.count
        #expect(recent == 100)
        #expect(aliases.lookup(key("raw0")) == nil)
    }

    @Test func aLookedUpAliasOutlivesARotation() {
        let aliases = RawKeyAliases(maxEntries: 100, shardCount: 1)
        let hot = RawAlias(canonical: key("hot"), wantsStream: false, includeUsage: false)
        aliases.record(key("hot-raw"), hot)
        for i in 0..<500 {
            aliases.record(key("raw\(i)"), RawAlias(canonical: key("c\(i)"), wantsStream: false, includeUsage: false))
            if i % 25 == 0 { #expect(aliases.lookup(key("hot-raw")) == hot) }
        }
    }

    @Test func removesAliasesByCanonicalKey() {
        let aliases = RawKeyAliases()
        for i in 0..<100 {
            let alias = RawAlias(canonical: key("c\(i % 10)"), wantsStream: false, includeUsage: false)
            aliases.record(key("raw\(i)"), alias)
        }
        aliases.remove(whereCanonicalIn: [key("c3"), key("c7")])
        #expect(aliases.count == 80)
        #expect(aliases.lookup(key("raw13")) == nil)
        #expect(aliases.lookup(key("raw14")) != nil)
        aliases.removeAll()
        #expect(aliases.count == 0)
    }
}
