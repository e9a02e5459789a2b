import Cache
import Testing

private func key(_ name: String) -> CacheKey {
    var hasher = SHA256Hasher()
    hasher.update(name)
    return hasher.finalize()
}

@Suite struct FrequencySketchTests {
    @Test func countsAreNeverUnderestimated() {
        var sketch = FrequencySketch(expectedEntries: 1024)
        let keys = (0..<500).map { key("k\($0)") }
        for (i, k) in keys.enumerated() {
            for _ in 0..<(i % 10) { sketch.increment(k) }
        }
        for (i, k) in keys.enumerated() {
            #expect(sketch.frequency(k) >= i % 10)
        }
    }

    @Test func estimatesAreMostlyExactWhenSizedForTheLoad() {
        var sketch = FrequencySketch(expectedEntries: 1024)
        let keys = (0..<500).map { key("k\($0)") }
        for (i, k) in keys.enumerated() {
            for _ in 0..<(i % 8) { sketch.increment(k) }
        }
        let exact = keys.enumerated().filter { sketch.frequency($0.element) == $0.offset % 8 }.count
        #expect(exact >= 475)
        let unseen = (0..<1000).map { sketch.frequency(key("unseen\($0)")) }
        #expect(unseen.reduce(0, +) < 100)
    }

    @Test func countersSaturateAtFifteen() {
        var sketch = FrequencySketch(expectedEntries: 64)
        let hot = key("hot")
        for _ in 0..<40 { sketch.increment(hot) }
        #expect(sketch.frequency(hot) == 15)
    }

    @Test func agingHalvesCountsAfterTheSamplePeriod() {
        var sketch = FrequencySketch(expectedEntries: 64)
        #expect(sketch.sampleSize == 640)
        let hot = key("hot")
        for _ in 0..<12 { sketch.increment(hot) }
        #expect(sketch.frequency(hot) == 12)
        // Feed other keys until the sketch ages (its size drops).
        var other = 0
        var before = sketch.frequency(hot)
        while true {
            let size = sketch.size
            before = sketch.frequency(hot)
            sketch.increment(key("other\(other)"))
            other += 1
            if sketch.size < size { break }
        }
        #expect(other <= 640)
        // The aging increment itself may have bumped one of hot's counters before halving.
        let after = sketch.frequency(hot)
        #expect(after == before / 2 || after == (before + 1) / 2)
        #expect(after < 12)
    }

    @Test func frequentKeysOutrankRareOnes() {
        var sketch = FrequencySketch(expectedEntries: 256)
        let frequent = (0..<100).map { key("f\($0)") }
        let rare = (0..<100).map { key("r\($0)") }
        for _ in 0..<5 { for k in frequent { sketch.increment(k) } }
        for k in rare { sketch.increment(k) }
        let wins = zip(frequent, rare).filter { sketch.frequency($0) > sketch.frequency($1) }.count
        #expect(wins >= 98)
    }

    @Test func doorkeeperAbsorbsFirstSightings() {
        var sketch = FrequencySketch(expectedEntries: 256, doorkeeper: true)
        #expect(sketch.hasDoorkeeper)
        let k = key("once")
        #expect(sketch.frequency(k) == 0)
        sketch.increment(k)
        #expect(sketch.frequency(k) == 1)
        sketch.increment(k)
        sketch.increment(k)
        #expect(sketch.frequency(k) == 3)
        sketch.age()
        // Counters held 2 -> 1; the doorkeeper bit is gone.
        #expect(sketch.frequency(k) == 1)
    }

    @Test func ensureCapacityGrowsAndStartsAfresh() {
        var sketch = FrequencySketch(expectedEntries: 16)
        let k = key("a")
        sketch.increment(k)
        sketch.ensureCapacity(8)
        #expect(sketch.capacity == 16)
        #expect(sketch.frequency(k) == 1)
        sketch.ensureCapacity(1000)
        #expect(sketch.capacity == 1000)
        #expect(sketch.sampleSize == 10_000)
        #expect(sketch.frequency(k) == 0)
    }
}
