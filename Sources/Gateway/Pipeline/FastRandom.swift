import Synchronization

/// Randomness for load spreading and jitter, where `SystemRandomNumberGenerator` would cost a
/// `getrandom` system call per number: SplitMix64 over one process-wide atomic counter, seeded
/// once from the system generator. Not for secrets (keys and tokens use the system generator).
struct FastRandom: RandomNumberGenerator {
    private static let state: Atomic<UInt64> = {
        var system = SystemRandomNumberGenerator()
        return Atomic(system.next())
    }()

    mutating func next() -> UInt64 {
        var z = Self.state.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
