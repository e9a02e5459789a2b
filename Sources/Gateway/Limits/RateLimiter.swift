import NIOConcurrencyHelpers

/// Rate-limit state for many keys (a virtual key, a tenant, a route), sharded by key hash so
/// concurrent requests on different keys do not contend. Every decision is atomic per key:
/// 200 concurrent requests against a limit of 50 admit exactly 50.
final class RateLimiter: Sendable {
    private struct Shard {
        var tats: [String: Double] = [:]
    }

    private let shards: [NIOLockedValueBox<Shard>]

    init(shardCount: Int = 16) {
        shards = (0..<max(1, shardCount)).map { _ in NIOLockedValueBox(Shard()) }
    }

    private func shard(_ key: String) -> NIOLockedValueBox<Shard> {
        var hasher = Hasher()
        hasher.combine(key)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
    }

    /// Admits `cost` units on `key` under `window`, or refuses without changing anything.
    func admit(key: String, cost: Int, window: RateWindow, now: Double) -> RateWindow.Decision {
        shard(key).withLockedValue { shard in
            let decision = window.decide(cost: cost, tat: shard.tats[key] ?? now, now: now)
            if case .admitted(let newTAT, _) = decision { shard.tats[key] = newTAT }
            return decision
        }
    }

    /// Adds `cost` units after the fact (tokens a completion turned out to use).
    func charge(key: String, cost: Int, window: RateWindow, now: Double) {
        shard(key).withLockedValue { shard in
            shard.tats[key] = window.charge(cost: cost, tat: shard.tats[key] ?? now, now: now)
        }
    }

    /// Gives back units admitted for a request that failed before it used them.
    func refund(key: String, cost: Int, window: RateWindow, now: Double) {
        shard(key).withLockedValue { shard in
            guard let tat = shard.tats[key] else { return }
            shard.tats[key] = max(now, tat - Double(max(0, cost)) * window.emissionInterval)
        }
    }

    func status(key: String, window: RateWindow, now: Double) -> RateWindow.Status {
        shard(key).withLockedValue { window.status(tat: $0.tats[key] ?? now, now: now) }
    }

    /// Drops keys whose windows are whole again (their state equals no state).
    func prune(now: Double) {
        for shard in shards {
            shard.withLockedValue { $0.tats = $0.tats.filter { $0.value > now } }
        }
    }
}
