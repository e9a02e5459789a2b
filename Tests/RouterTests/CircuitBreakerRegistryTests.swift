import Testing

@testable import Router

@Suite struct CircuitBreakerRegistryTests {
    private static func table(threshold: Int, replicas: [String] = ["http://a/v1", "http://b/v1"]) -> RoutingTable {
        RoutingTable(
            routes: [],
            backends: [
                BackendPolicy(
                    name: "up",
                    replicas: replicas,
                    circuitBreaker: CircuitBreakerConfig(failureThreshold: threshold, cooldownSeconds: 30)
                )
            ]
        )
    }

    @Test func breakersAreKeyedByBackendAndReplica() {
        let registry = CircuitBreakerRegistry(table: Self.table(threshold: 2))
        registry.record(backend: "up", replica: "http://a/v1", success: false, now: 0)
        registry.record(backend: "up", replica: "http://a/v1", success: false, now: 1)
        #expect(registry.state(backend: "up", replica: "http://a/v1") == .open)
        #expect(!registry.allow(backend: "up", replica: "http://a/v1", now: 2))
        #expect(registry.allow(backend: "up", replica: "http://b/v1", now: 2))
        #expect(registry.allow(backend: "other", replica: "http://a/v1", now: 2))
        #expect(registry.allow(backend: "up", replica: "http://a/v1", now: 31))
        #expect(registry.state(backend: "up", replica: "http://a/v1") == .halfOpen)
        registry.record(backend: "up", replica: "http://a/v1", success: true, now: 31.5)
        #expect(registry.state(backend: "up", replica: "http://a/v1") == .closed)
    }

    @Test func stateSurvivesAReloadUnderTheNewThresholds() {
        let registry = CircuitBreakerRegistry(table: Self.table(threshold: 3))
        registry.record(backend: "up", replica: "http://a/v1", success: false, now: 0)
        registry.record(backend: "up", replica: "http://a/v1", success: false, now: 0)
        registry.apply(Self.table(threshold: 3))
        registry.record(backend: "up", replica: "http://a/v1", success: false, now: 0)
        #expect(registry.state(backend: "up", replica: "http://a/v1") == .open)

        registry.record(backend: "up", replica: "http://b/v1", success: false, now: 0)
        registry.apply(Self.table(threshold: 2))
        registry.record(backend: "up", replica: "http://b/v1", success: false, now: 0)
        #expect(registry.state(backend: "up", replica: "http://b/v1") == .open)
    }

    @Test func removedReplicasAreForgotten() {
        let registry = CircuitBreakerRegistry(table: Self.table(threshold: 1))
        registry.record(backend: "up", replica: "http://a/v1", success: false, now: 0)
        registry.apply(Self.table(threshold: 1, replicas: ["http://b/v1"]))
        #expect(registry.state(backend: "up", replica: "http://a/v1") == .closed)
        #expect(registry.snapshot().map(\.replica) == ["http://b/v1"])
    }

    @Test func snapshotListsEveryReplicaSorted() {
        let registry = CircuitBreakerRegistry(table: Self.table(threshold: 1))
        registry.record(backend: "up", replica: "http://b/v1", success: false, now: 7)
        let snapshot = registry.snapshot()
        #expect(snapshot.map(\.replica) == ["http://a/v1", "http://b/v1"])
        #expect(snapshot.map(\.state) == [.closed, .open])
        #expect(snapshot[1].openedAt == 7)
    }
}
