import Testing

@testable import Router

@Suite struct RoutePlannerTests {
    private static let table = RoutingTable(
        routes: [],
        backends: [
            BackendPolicy(name: "big", replicas: ["http://big/v1"]),
            BackendPolicy(name: "small", replicas: ["http://small/v1"]),
            BackendPolicy(
                name: "sticky",
                replicas: (1...5).map { "http://gpu\($0)/v1" },
                affinity: .prefix(chars: 128)
            ),
            BackendPolicy(name: "spread", replicas: ["http://s1/v1", "http://s2/v1", "http://s3/v1"]),
            BackendPolicy(name: "local", replicas: ["http://127.0.0.1:9000/v1"]),
            BackendPolicy(name: "unset", replicas: [], unconfiguredReason: "set X"),
        ]
    )

    private static func route(_ primaries: [(String, Double)], fallbacks: [String] = []) -> RoutePolicy {
        RoutePolicy(name: "r", backends: primaries.map { .init(backend: $0.0, weight: $0.1) }, fallbacks: fallbacks)
    }

    @Test func fallbacksComeAfterAllPrimariesInOrder() {
        var rng = SeededGenerator(seed: 3)
        let route = Self.route([("big", 3), ("small", 1)], fallbacks: ["local", "spread"])
        for _ in 0..<100 {
            let plan = RoutePlanner.plan(route: route, table: Self.table, affinityHash: nil, using: &rng)
            #expect(plan.count == 1 + 1 + 1 + 3)
            #expect(Set(plan.prefix(2).map(\.backend.name)) == ["big", "small"])
            #expect(plan.prefix(2).allSatisfy { !$0.isFallback })
            #expect(plan.dropFirst(2).map(\.backend.name) == ["local", "spread", "spread", "spread"])
            #expect(plan.dropFirst(2).allSatisfy { $0.isFallback })
        }
    }

    @Test func firstPrimaryIsPickedByWeight() {
        var rng = SeededGenerator(seed: 11)
        let route = Self.route([("big", 3), ("small", 1)])
        var bigFirst = 0
        let runs = 8_000
        for _ in 0..<runs {
            let plan = RoutePlanner.plan(route: route, table: Self.table, affinityHash: nil, using: &rng)
            if plan.first?.backend.name == "big" { bigFirst += 1 }
        }
        #expect(abs(Double(bigFirst) / Double(runs) - 0.75) < 0.02)
    }

    @Test func affinityFollowsTheRingOrder() throws {
        var rng = SeededGenerator(seed: 5)
        let route = Self.route([("sticky", 1)])
        let ring = try #require(Self.table.ring(forBackend: "sticky"))
        for key in 0..<50 {
            let hash = AffinityKey.hash("conversation \(key)")
            let expected = ring.order(for: hash).map { ring.replicas[$0] }
            for _ in 0..<3 {
                let plan = RoutePlanner.plan(route: route, table: Self.table, affinityHash: hash, using: &rng)
                #expect(plan.map(\.replica) == expected)
            }
        }
    }

    @Test func withoutAffinityReplicasRotateFromARandomStart() {
        var rng = SeededGenerator(seed: 8)
        let route = Self.route([("spread", 1)])
        var starts: Set<String> = []
        for _ in 0..<200 {
            let plan = RoutePlanner.plan(route: route, table: Self.table, affinityHash: 12345, using: &rng)
            let replicas = plan.map(\.replica)
            #expect(Set(replicas).count == 3)
            let start = ["http://s1/v1", "http://s2/v1", "http://s3/v1"].firstIndex(of: replicas[0])!
            #expect(replicas == (0..<3).map { ["http://s1/v1", "http://s2/v1", "http://s3/v1"][(start + $0) % 3] })
            starts.insert(replicas[0])
        }
        #expect(starts.count == 3)
    }

    @Test func affinityBackendWithoutAHashIsRotated() {
        var rng = SeededGenerator(seed: 9)
        let route = Self.route([("sticky", 1)])
        let firsts = Set(
            (0..<200).map { _ in
                RoutePlanner.plan(route: route, table: Self.table, affinityHash: nil, using: &rng).first!.replica
            }
        )
        #expect(firsts.count == 5)
    }

    @Test func unconfiguredBackendYieldsOneEmptyAttemptAndUnknownNamesAreSkipped() {
        var rng = SeededGenerator(seed: 1)
        let route = Self.route([("unset", 1)], fallbacks: ["ghost", "local"])
        let plan = RoutePlanner.plan(route: route, table: Self.table, affinityHash: nil, using: &rng)
        #expect(plan.map(\.backend.name) == ["unset", "local"])
        #expect(plan[0].replica == "")
        #expect(plan[0].backend.unconfiguredReason == "set X")
    }
}
