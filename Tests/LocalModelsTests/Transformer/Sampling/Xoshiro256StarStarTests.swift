import Testing

@testable import LocalModels

/// The generator behind every seeded request: its outputs must never change, or one seed would
/// give different tokens after an upgrade. The expected values are the output of the authors'
/// reference C code (xoshiro256starstar.c seeded with splitmix64.c, prng.di.unimi.it).
struct Xoshiro256StarStarTests {
    @Test func splitMixMatchesTheReference() {
        var mixer = SplitMix64(state: 0)
        let expected: [UInt64] = [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F]
        let outputs: [UInt64] = [mixer.next(), mixer.next(), mixer.next()]
        #expect(outputs == expected)
    }

    static let reference: [(seed: UInt64, outputs: [UInt64])] = [
        (0, [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0, 0x6AA5_94F1_262D_2D2C]),
        (42, [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1, 0xECB8_AD47_03B3_60A1]),
        (.max, [0x8F55_20D5_2A7E_AD08, 0xC476_A018_CAA1_802D, 0x81DE_31C0_D260_469E, 0xBF65_8D7E_065F_3C2F]),
    ]

    @Test func xoshiroMatchesTheReference() {
        for (seed, expected) in Self.reference {
            var random = Xoshiro256StarStar(seed: seed)
            let outputs = (0..<4).map { _ in random.next() }
            #expect(outputs == expected, "seed \(seed)")
        }
    }

    @Test func unitValuesStayInTheHalfOpenInterval() {
        var random = Xoshiro256StarStar(seed: 7)
        var low = 1.0
        var high = 0.0
        for _ in 0..<10_000 {
            let u = random.nextUnit()
            low = min(low, u)
            high = max(high, u)
        }
        #expect(low >= 0 && low < 0.001)
        #expect(high < 1 && high > 0.999)
    }
}
