import Testing

@testable import Router

@Suite struct WeightedPickerTests {
    @Test func picksInProportionToWeight() throws {
        var rng = SeededGenerator(seed: 42)
        let picker = WeightedPicker(weights: [3, 1, 0.5, 0])
        var counts = [0, 0, 0, 0]
        let draws = 45_000
        for _ in 0..<draws { counts[try #require(picker.pick(using: &rng))] += 1 }
        let shares = counts.map { Double($0) / Double(draws) }
        #expect(abs(shares[0] - 3 / 4.5) < 0.01)
        #expect(abs(shares[1] - 1 / 4.5) < 0.01)
        #expect(abs(shares[2] - 0.5 / 4.5) < 0.01)
        #expect(counts[3] == 0)
    }

    @Test func nothingPickableGivesNil() {
        var rng = SeededGenerator(seed: 1)
        #expect(WeightedPicker(weights: []).pick(using: &rng) == nil)
        #expect(WeightedPicker(weights: [0, -1, .nan, .infinity]).pick(using: &rng) == nil)
        #expect(WeightedPicker(weights: [0, -1]).order(using: &rng).isEmpty)
    }

    @Test func orderIsAWeightedPermutationOfThePickable() {
        var rng = SeededGenerator(seed: 7)
        let picker = WeightedPicker(weights: [9, 1, 0, 5])
        var firsts = [0, 0, 0, 0]
        for _ in 0..<10_000 {
            let order = picker.order(using: &rng)
            #expect(order.sorted() == [0, 1, 3])
            firsts[order[0]] += 1
        }
        #expect(abs(Double(firsts[0]) / 10_000 - 9 / 15) < 0.02)
        #expect(abs(Double(firsts[3]) / 10_000 - 5 / 15) < 0.02)
        #expect(firsts[2] == 0)
    }

    @Test func sameSeedSameChoices() {
        var first = SeededGenerator(seed: 99)
        var second = SeededGenerator(seed: 99)
        let picker = WeightedPicker(weights: [1, 2, 3])
        let a = (0..<50).map { _ in picker.pick(using: &first) }
        let b = (0..<50).map { _ in picker.pick(using: &second) }
        #expect(a == b)
    }
}
