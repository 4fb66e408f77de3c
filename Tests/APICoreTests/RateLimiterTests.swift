import APICore
import Synchronization
import Testing

/// The rate limiter with an injected clock: one bucket per key and scope, limits per scope.
@Suite struct RateLimiterTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        private let seconds = Mutex(0.0)
        var now: Double { seconds.withLock { $0 } }
        func advance(_ s: Double) { seconds.withLock { $0 += s } }
    }

    static let limits = RateLimits(
        public: .init(rate: 1, burst: 2), read: .init(rate: 10, burst: 5), write: .init(rate: 0, burst: 1),
        admin: .init(rate: 100, burst: 100))

    @Test func eachKey_hasItsOwnBucket() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(limits: Self.limits, now: { clock.now })
        for _ in 0..<5 { #expect(try #require(limiter.check(identity: "key-a", scope: .read)).allowed) }
        let refused = try #require(limiter.check(identity: "key-a", scope: .read))
        #expect(!refused.allowed)
        #expect(refused.remaining == 0)
        #expect(refused.limit == 5)
        #expect(refused.retryAfter == 1)
        #expect(try #require(limiter.check(identity: "key-b", scope: .read)).allowed)
        #expect(limiter.count == 2)
    }

    @Test func decision_reportsRemainingAndReset() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(limits: Self.limits, now: { clock.now })
        let first = try #require(limiter.check(identity: "10.0.0.1", scope: .public))
        #expect(first.allowed && first.remaining == 1 && first.limit == 2 && first.reset == 1)
        let second = try #require(limiter.check(identity: "10.0.0.1", scope: .public))
        #expect(second.allowed && second.remaining == 0 && second.reset == 2)
        #expect(try #require(limiter.check(identity: "10.0.0.1", scope: .public)).allowed == false)
        clock.advance(1)
        #expect(try #require(limiter.check(identity: "10.0.0.1", scope: .public)).allowed)
    }

    @Test func sameIdentity_inAnotherScope_isAnotherBucket() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(limits: Self.limits, now: { clock.now })
        _ = limiter.check(identity: "x", scope: .public)
        _ = limiter.check(identity: "x", scope: .public)
        #expect(try #require(limiter.check(identity: "x", scope: .public)).allowed == false)
        #expect(try #require(limiter.check(identity: "x", scope: .admin)).allowed)
    }

    /// A rate the config allows but so small that a refill takes longer than `Int` counts
    /// (1e-20 a second) gives a reset of at most a year; converting it stopped the process.
    @Test func aTinyRate_givesABoundedReset() throws {
        let tiny = RateLimits(
            public: .init(rate: 1e-20, burst: 2), read: .init(rate: 1, burst: 1), write: .init(rate: 1, burst: 1),
            admin: .init(rate: 1, burst: 1))
        let limiter = RateLimiter(limits: tiny, now: { 0 })
        let first = try #require(limiter.check(identity: "a", scope: .public))
        #expect(first.allowed && first.reset == 31_536_000)
        _ = limiter.check(identity: "a", scope: .public)
        let refused = try #require(limiter.check(identity: "a", scope: .public))
        #expect(!refused.allowed && refused.retryAfter == 31_536_000)
    }

    @Test func rateZero_turnsLimitingOff() {
        let limiter = RateLimiter(limits: Self.limits, now: { 0 })
        #expect(limiter.check(identity: "w", scope: .write) == nil)
        #expect(limiter.count == 0)
    }

    @Test func sweep_dropsBucketsThatAreFullAgain() throws {
        let clock = ManualClock()
        let limiter = RateLimiter(limits: Self.limits, sweepThreshold: 3, now: { clock.now })
        for id in ["a", "b", "c"] { _ = limiter.check(identity: id, scope: .public) }
        #expect(limiter.count == 3)
        clock.advance(10)  // every bucket refilled
        _ = limiter.check(identity: "d", scope: .public)
        #expect(limiter.count == 1)
    }

    /// Buckets still refilling survive a sweep; the next sweep waits until the table doubled, so
    /// 1 000 new clients in one frozen instant cost a handful of sweeps, not one per request (it
    /// swept on every check once the table held `sweepThreshold` refilling buckets), and the
    /// table never passes its cap.
    @Test func sweepsAreAmortisedAndTheTableIsCapped() {
        let clock = ManualClock()
        let limiter = RateLimiter(limits: Self.limits, sweepThreshold: 3, maxBuckets: 600, now: { clock.now })
        for i in 0..<1000 { _ = limiter.check(identity: "client \(i)", scope: .public) }
        #expect(limiter.sweeps <= 12, "\(limiter.sweeps) sweeps for 1 000 clients")
        #expect(limiter.count <= 600)
        // The most recent clients keep their buckets: the newest is still limited.
        #expect(limiter.check(identity: "client 999", scope: .public)?.remaining == Self.limits.bucket(for: .public).burst - 2)
    }

    @Test func anIPv6ClientIsLimitedByItsSlash64() {
        #expect(RateLimiter.clientIdentity("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64")
        #expect(RateLimiter.clientIdentity("2001:db8:1:2:bbbb:cccc:dddd:eeee") == "2001:db8:1:2::/64")
        #expect(RateLimiter.clientIdentity("::ffff:192.0.2.7") == "192.0.2.7")
        #expect(RateLimiter.clientIdentity("192.0.2.7") == "192.0.2.7")
        #expect(RateLimiter.clientIdentity("unknown") == "unknown")
        #expect(RateLimiter.clientIdentity("fe80::1") == "fe80::1", "link-local hosts share the prefix: each is its own")
    }
}
