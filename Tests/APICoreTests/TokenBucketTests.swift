import APICore
import Testing

/// The token bucket, driven by explicit times: burst, exhaustion, refill and its cap.
@Suite struct TokenBucketTests {
    @Test func fullBucket_servesTheBurst_thenRefuses() {
        var bucket = TokenBucket(burst: 3, now: 0)
        let served = (0..<4).map { _ in bucket.take(rate: 1, burst: 3, now: 0) }
        #expect(served == [true, true, true, false])
        #expect(bucket.secondsUntilToken(rate: 1) == 1)
        #expect(bucket.secondsUntilFull(rate: 1, burst: 3) == 3)
    }

    @Test func refill_addsRateTokensPerSecond() {
        var bucket = TokenBucket(burst: 10, now: 0)
        for _ in 0..<10 { _ = bucket.take(rate: 2, burst: 10, now: 0) }
        // 0.4 s: 0.8 tokens; 0.5 s: 1 token; 1.5 s: 2 more.
        let served = [0.4, 0.5, 0.5, 1.5, 1.5, 1.5].map { bucket.take(rate: 2, burst: 10, now: $0) }
        #expect(served == [false, true, false, true, true, false])
    }

    @Test func refill_stopsAtTheBurst() {
        var bucket = TokenBucket(burst: 2, now: 0)
        _ = bucket.take(rate: 100, burst: 2, now: 0)
        _ = bucket.take(rate: 100, burst: 2, now: 0)
        // A long idle time fills the bucket to its capacity, not beyond.
        let first = bucket.take(rate: 100, burst: 2, now: 3600)
        #expect(first)
        #expect(bucket.tokens == 1)
        let rest = (0..<2).map { _ in bucket.take(rate: 100, burst: 2, now: 3600) }
        #expect(rest == [true, false])
    }

    @Test func clockGoingBack_neitherRefillsNorRewinds() {
        var bucket = TokenBucket(burst: 1, now: 10)
        let served = [10.0, 5.0].map { bucket.take(rate: 1, burst: 1, now: $0) }
        #expect(served == [true, false])
        #expect(bucket.updated == 10)
    }
}
