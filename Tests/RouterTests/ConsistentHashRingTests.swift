import Testing

@testable import Router

@Suite struct ConsistentHashRingTests {
    private static let replicas = (1...4).map { "http://10.0.0.\($0):8000/v1" }

    @Test func affinityHashIsStableAcrossProcesses() {
        // Golden values: FNV-1a 64 then the MurmurHash3 finalizer. A change here would move
        // every prompt prefix to another replica on upgrade.
        #expect(AffinityKey.hash("") == 0xefd0_1f60_ba99_2926)
        #expect(AffinityKey.hash("hello") == 0xe9c5_62c0_fdb2_3244)
        #expect(AffinityKey.hash("système:") == 0x2826_e355_f389_6656)
        #expect(AffinityKey.hash("hello world"[...].prefix(5)) == AffinityKey.hash("hello"))
        #expect(AffinityKey.hash(prefixOf: "hello world", chars: 5) == AffinityKey.hash("hello"))
    }

    @Test func ownerOfAPrefixIsStable() throws {
        let ring = ConsistentHashRing(replicas: Self.replicas)
        let rebuilt = ConsistentHashRing(replicas: Self.replicas)
        let hash = AffinityKey.hash("system: you are a helpful assistant")
        let owner = try #require(ring.owner(for: hash))
        for _ in 0..<10 { #expect(ring.owner(for: hash) == owner) }
        #expect(rebuilt.owner(for: hash) == owner)
        #expect(ring.order(for: hash).first == owner)
    }

    @Test func orderIsDistinctAndComplete() {
        let ring = ConsistentHashRing(replicas: Self.replicas)
        for key in 0..<500 {
            let order = ring.order(for: AffinityKey.hash("key-\(key)"))
            #expect(order.count == Self.replicas.count)
            #expect(Set(order).count == Self.replicas.count)
        }
        #expect(ConsistentHashRing(replicas: []).order(for: 1).isEmpty)
        #expect(ConsistentHashRing(replicas: []).owner(for: 1) == nil)
        #expect(ConsistentHashRing(replicas: ["only"]).order(for: .max) == [0])
    }

    @Test func loadIsSpreadEvenly() {
        let ring = ConsistentHashRing(replicas: Self.replicas)
        var counts = [Int](repeating: 0, count: Self.replicas.count)
        let keys = 20_000
        for key in 0..<keys { counts[ring.owner(for: AffinityKey.hash("prompt \(key)"))!] += 1 }
        for count in counts {
            #expect(abs(Double(count) / Double(keys) - 0.25) < 0.06)
        }
    }

    @Test func removingAReplicaMovesOnlyItsKeys() {
        let full = ConsistentHashRing(replicas: Self.replicas)
        let removed = Self.replicas[2]
        let smaller = ConsistentHashRing(replicas: Self.replicas.filter { $0 != removed })
        let keys = 20_000
        var moved = 0
        for key in 0..<keys {
            let hash = AffinityKey.hash("prompt \(key)")
            let before = full.replicas[full.owner(for: hash)!]
            let after = smaller.replicas[smaller.owner(for: hash)!]
            if before != removed {
                #expect(before == after)
            } else {
                moved += 1
                // The key goes to the replica next in its old order.
                #expect(after == full.replicas[full.order(for: hash)[1]])
            }
        }
        #expect(abs(Double(moved) / Double(keys) - 0.25) < 0.06)
    }
}
