/// Turns a route into the ordered list of attempts a request makes.
///
/// The plan only orders; whether an attempt is made (circuit open, failure not in
/// `fallback_on`, route deadline passed) is the caller's decision as it walks the list.
public enum RoutePlanner {
    /// The attempts for one request, in order:
    /// 1. the primaries, the first picked by weight and the rest in weighted random order;
    /// 2. the fallbacks, in the order written.
    ///
    /// Each backend expands to all its replicas: with prefix affinity and an
    /// `affinityHash`, in ring order from the hash's owner (so a shared prefix keeps
    /// hitting a warm KV cache, and moves to a stable second choice when that replica
    /// fails); otherwise rotated from a random start, to spread load. A backend that is
    /// not configured still yields one attempt (with an empty replica), so the caller can
    /// answer with its ``BackendPolicy/unconfiguredReason``. Names missing from `table`
    /// are skipped; the loader never produces them.
    public static func plan<R: RandomNumberGenerator>(
        route: RoutePolicy,
        table: RoutingTable,
        affinityHash: UInt64?,
        using rng: inout R
    ) -> [PlannedAttempt] {
        let picker = WeightedPicker(weights: route.backends.map(\.weight))
        let primaries = picker.order(using: &rng).map { route.backends[$0].backend }
        var attempts: [PlannedAttempt] = []
        for name in primaries {
            append(name, isFallback: false, table: table, affinityHash: affinityHash, to: &attempts, using: &rng)
        }
        for name in route.fallbacks {
            append(name, isFallback: true, table: table, affinityHash: affinityHash, to: &attempts, using: &rng)
        }
        return attempts
    }

    private static func append<R: RandomNumberGenerator>(
        _ name: String,
        isFallback: Bool,
        table: RoutingTable,
        affinityHash: UInt64?,
        to attempts: inout [PlannedAttempt],
        using rng: inout R
    ) {
        guard let backend = table.backends[name] else { return }
        guard !backend.replicas.isEmpty else {
            attempts.append(PlannedAttempt(backend: backend, replica: "", isFallback: isFallback))
            return
        }
        for index in replicaOrder(backend, table: table, affinityHash: affinityHash, using: &rng) {
            attempts.append(PlannedAttempt(backend: backend, replica: backend.replicas[index], isFallback: isFallback))
        }
    }

    static func replicaOrder<R: RandomNumberGenerator>(
        _ backend: BackendPolicy,
        table: RoutingTable,
        affinityHash: UInt64?,
        using rng: inout R
    ) -> [Int] {
        let count = backend.replicas.count
        if let affinityHash, let ring = table.ring(forBackend: backend.name) {
            return ring.order(for: affinityHash)
        }
        guard count > 1 else { return Array(0..<count) }
        let start = Int.random(in: 0..<count, using: &rng)
        return (0..<count).map { (start + $0) % count }
    }
}
