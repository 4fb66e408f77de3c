import MQTTCore
import Testing

/// Exponential backoff with jitter: growth, the upper bound, the jitter band and the reset.
@Suite struct BackoffTests {
    /// A deterministic generator (xorshift) so draws are reproducible.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    @Test func growsByTheMultiplierUpToTheMaximum() {
        let b = Backoff(initial: .milliseconds(100), maximum: .seconds(2), multiplier: 2, jitter: 0)
        #expect((0..<7).map { b.ceiling(after: $0).milliseconds } == [100, 200, 400, 800, 1600, 2000, 2000])
        var noJitter = b
        #expect(noJitter.next().milliseconds == 100)
        #expect(noJitter.next().milliseconds == 200)
        #expect(noJitter.failures == 2)
    }

    @Test func jitterStaysInsideItsBand() {
        var b = Backoff(initial: .milliseconds(1000), maximum: .seconds(1), multiplier: 2, jitter: 0.5)
        var generator = Seeded(state: 42)
        var draws: [Int64] = []
        for _ in 0..<1000 { draws.append(b.next(using: &generator).milliseconds) }
        #expect(draws.allSatisfy { (500...1000).contains($0) })
        // Spread over the band, not stuck at one end.
        #expect(draws.contains { $0 < 600 })
        #expect(draws.contains { $0 > 900 })
    }

    @Test func fullJitterCanBeNearZero() {
        var b = Backoff(initial: .seconds(1), maximum: .seconds(1), multiplier: 1, jitter: 1)
        var generator = Seeded(state: 7)
        let draws = (0..<2000).map { _ in b.next(using: &generator).milliseconds }
        #expect(draws.allSatisfy { (0...1000).contains($0) })
        #expect(draws.contains { $0 < 50 })
    }

    @Test func resetStartsOver() {
        var b = Backoff(initial: .milliseconds(10), maximum: .seconds(60), multiplier: 3, jitter: 0)
        for _ in 0..<5 { _ = b.next() }
        #expect(b.ceiling(after: b.failures).milliseconds == 2430)
        b.reset()
        #expect(b.next().milliseconds == 10)
    }

    @Test func settingsAreClamped() {
        let b = Backoff(initial: .seconds(5), maximum: .seconds(1), multiplier: 0.5, jitter: 3)
        #expect(b.maximum == .seconds(5))
        #expect(b.multiplier == 1)
        #expect(b.jitter == 1)
    }
}
