/// A token bucket: holds up to `burst` tokens, refilled at `rate` per second; each request takes
/// one. A value type; ``RateLimiter`` keeps one per key or client address.
package struct TokenBucket: Sendable {
    /// Tokens now in the bucket.
    package private(set) var tokens: Double
    /// When `tokens` was last brought up to date (seconds, monotonic).
    package private(set) var updated: Double

    /// A full bucket.
    package init(burst: Int, now: Double) {
        tokens = Double(burst)
        updated = now
    }

    /// Refills for the time elapsed, then takes one token if there is one.
    /// - Returns: whether the request may go ahead.
    package mutating func take(rate: Double, burst: Int, now: Double) -> Bool {
        if now > updated {
            tokens = min(Double(burst), tokens + (now - updated) * rate)
            updated = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Seconds until the bucket is full again.
    package func secondsUntilFull(rate: Double, burst: Int) -> Double {
        rate > 0 ? max(0, (Double(burst) - tokens) / rate) : 0
    }

    /// Seconds until one token is available.
    package func secondsUntilToken(rate: Double) -> Double {
        rate > 0 ? max(0, (1 - tokens) / rate) : 0
    }
}
