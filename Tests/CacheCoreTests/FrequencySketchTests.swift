import Testing

@testable import CacheCore

@Suite struct FrequencySketchTests {
    @Test func countsUpToFifteenAndAgesByHalving() {
        var sketch = FrequencySketch(capacity: 64, sampleFactor: 1000)
        for _ in 0..<20 { sketch.increment(42) }
        #expect(sketch.frequency(42) == 15, "4-bit counters saturate at 15")
        #expect(sketch.frequency(43) <= 1)
        sketch.age()
        #expect(sketch.frequency(42) == 7)
    }

    @Test func agesByItselfAfterTheSample() {
        var sketch = FrequencySketch(capacity: 16, sampleFactor: 10)
        for _ in 0..<8 { sketch.increment(7) }
        #expect(sketch.frequency(7) == 8)
        // Fill the rest of the 160-increment sample with other keys: one halving.
        for i in 0..<(sketch.sampleSize - 8) { sketch.increment(UInt64(1000 + i)) }
        #expect(sketch.frequency(7) <= 4)
    }

    @Test func doorkeeperAbsorbsTheFirstSighting() {
        var sketch = FrequencySketch(capacity: 1024, doorkeeper: true)
        #expect(sketch.frequency(99) == 0)
        sketch.increment(99)
        #expect(sketch.frequency(99) == 1, "seen once: in the doorkeeper only")
        sketch.increment(99)
        #expect(sketch.frequency(99) == 2)
    }

    @Test func estimatesRankHotAboveCold() {
        var sketch = FrequencySketch(capacity: 1000)
        for round in 0..<10 {
            for key in 0..<100 where key < 10 || round == 0 { sketch.increment(UInt64(key)) }
        }
        let hot = (0..<10).map { sketch.frequency(UInt64($0)) }.min() ?? 0
        let cold = (10..<100).map { sketch.frequency(UInt64($0)) }.max() ?? 99
        #expect(hot > cold)
    }
}
