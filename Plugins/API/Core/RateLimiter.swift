import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

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

    private struct Table {
        var buckets: [Key: TokenBucket] = [:]
        /// The size at which the next check sweeps: twice what the last sweep kept (at least
        /// ``sweepThreshold``), so sweeps cost O(1) per check however many buckets are still
        /// refilling (it swept on every check while 10 000 of them were).
        var nextSweep: Int
        /// Sweeps so far (for tests).
        var sweeps = 0
    }

    private let table: Mutex<Table>
    /// The clock: seconds, monotonic.
    private let now: @Sendable () -> Double
    /// Above this many buckets, a check first sweeps out the full ones.
    private let sweepThreshold: Int
    /// The most buckets held: past it a sweep also drops the least recently used, so clients
    /// that each send a request (many addresses) cannot grow the table without bound.
    private let maxBuckets: Int

    /// - Parameters:
    ///   - limits: the per-scope limits.
    ///   - sweepThreshold: the table size that triggers dropping idle buckets.
    ///   - maxBuckets: the most buckets kept (the least recently used go first).
    ///   - now: the clock, in seconds (monotonic); by default the continuous clock since creation.
    package init(
        limits: RateLimits, sweepThreshold: Int = 10_000, maxBuckets: Int = 500_000, now: (@Sendable () -> Double)? = nil
    ) {
        self.limits = limits
        self.sweepThreshold = sweepThreshold
        self.maxBuckets = max(maxBuckets, 1)
        table = Mutex(Table(nextSweep: sweepThreshold))
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
        let (allowed, bucket) = table.withLock { table -> (Bool, TokenBucket) in
            if table.buckets.count >= table.nextSweep || table.buckets.count >= maxBuckets { sweep(&table, now: now) }
            var bucket = table.buckets[key] ?? TokenBucket(burst: parameters.burst, now: now)
            let allowed = bucket.take(rate: parameters.rate, burst: parameters.burst, now: now)
            table.buckets[key] = bucket
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
    package var count: Int { table.withLock { $0.buckets.count } }

    /// Sweeps so far (for tests).
    package var sweeps: Int { table.withLock { $0.sweeps } }

    private func sweep(_ table: inout Table, now: Double) {
        table.sweeps += 1
        table.buckets = table.buckets.filter { key, bucket in
            let p = limits.bucket(for: key.scope)
            return bucket.secondsUntilFull(rate: p.rate, burst: p.burst) - (now - bucket.updated) > 0
        }
        if table.buckets.count > maxBuckets / 4 * 3 {
            // Keep the most recently used half of the cap (a dropped client starts again full);
            // from three quarters on, so sweeps near the cap stay rare too.
            let kept = table.buckets.sorted { $0.value.updated > $1.value.updated }.prefix(maxBuckets / 2)
            table.buckets = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
        }
        table.nextSweep = max(sweepThreshold, 2 * table.buckets.count)
    }

    /// The identity a client address is limited under: an IPv6 address by its /64 (one host
    /// usually holds a whole /64, so per-address buckets gave it 2^64 of them), any other as is.
    package static func clientIdentity(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, address, &bytes) == 1 else { return address }
        // Link-local (fe80::/10): every host on the link shares the prefix; each is its own client.
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return address }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return bytes[12...].map(String.init).joined(separator: ".")  // IPv4-mapped: the IPv4 address
        }
        return stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":") + "::/64"
    }
}
