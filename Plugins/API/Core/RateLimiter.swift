import Synchronization

/// Token buckets per key (per client address for callers without a valid key), with limits per
/// scope. Thread-safe; buckets idle long enough to be full again are dropped when the table grows.
package final class RateLimiter: Sendable {
    /// The outcome of one check: whether to serve the request, and the `RateLimit-*` values.
    package struct Decision: Sendable {
        /// Serve the request.
        package let allowed: Bool
        /// `RateLimit-Limit`: the bucket capacity.
        package let limit: Int
        /// `RateLimit-Remaining`: whole tokens left.
        package let remaining: Int
        /// `RateLimit-Reset`: seconds until the bucket is full.
        package let reset: Int
        /// `Retry-After` when refused: seconds until a token is available.
        package let retryAfter: Int
    }

    private let limits: RateLimits
    private struct Key: Hashable {
        let scope: Scope
        let identity: String
    }

    private let buckets = Mutex<[Key: TokenBucket]>([:])
    /// The clock: seconds, monotonic.
    private let now: @Sendable () -> Double
    /// Above this many buckets, a check first sweeps out the full ones.
    private let sweepThreshold: Int

    /// - Parameters:
    ///   - limits: the per-scope limits.
    ///   - sweepThreshold: the table size that triggers dropping idle buckets.
    ///   - now: the clock, in seconds (monotonic); by default the continuous clock since creation.
    package init(limits: RateLimits, sweepThreshold: Int = 10_000, now: (@Sendable () -> Double)? = nil) {
        self.limits = limits
        self.sweepThreshold = sweepThreshold
        if let now {
            self.now = now
        } else {
            let clock = ContinuousClock()
            let origin = clock.now
            self.now = { (clock.now - origin) / .seconds(1) }
        }
    }

    /// Takes one token from the bucket of `identity`, whose limits are those of `scope`.
    /// - Returns: nil when limiting is off for the scope (rate 0).
    package func check(identity: String, scope: Scope) -> Decision? {
        let parameters = limits.bucket(for: scope)
        guard parameters.rate > 0 else { return nil }
        let now = self.now()
        let key = Key(scope: scope, identity: identity)
        let (allowed, bucket) = buckets.withLock { table -> (Bool, TokenBucket) in
            if table.count >= sweepThreshold { sweep(&table, now: now) }
            var bucket = table[key] ?? TokenBucket(burst: parameters.burst, now: now)
            let allowed = bucket.take(rate: parameters.rate, burst: parameters.burst, now: now)
            table[key] = bucket
            return (allowed, bucket)
        }
        return Decision(
            allowed: allowed, limit: parameters.burst, remaining: Int(bucket.tokens.rounded(.down)),
            reset: Self.wholeSeconds(bucket.secondsUntilFull(rate: parameters.rate, burst: parameters.burst)),
            retryAfter: max(1, Self.wholeSeconds(bucket.secondsUntilToken(rate: parameters.rate))))
    }

    /// Seconds rounded up, at most a year: a rate of 1e-20 a second, which the config allows,
    /// made a refill of 1e20 seconds, and converting that to `Int` stopped the process.
    static func wholeSeconds(_ seconds: Double) -> Int { Int(min(seconds, 31_536_000).rounded(.up)) }

    /// Number of buckets held (for tests and the sweep).
    package var count: Int { buckets.withLock { $0.count } }

    private func sweep(_ table: inout [Key: TokenBucket], now: Double) {
        table = table.filter { key, bucket in
            let p = limits.bucket(for: key.scope)
            return bucket.secondsUntilFull(rate: p.rate, burst: p.burst) - (now - bucket.updated) > 0
        }
    }
}
