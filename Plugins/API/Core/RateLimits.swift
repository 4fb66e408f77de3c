/// Token-bucket limits per scope (`rate_limits` in the config): `rate` requests per second,
/// bursts of `burst`.
package struct RateLimits: Decodable, Sendable {
    /// Requests without a valid key, per client address.
    package var `public`: Bucket
    /// Per key with scope read.
    package var read: Bucket
    /// Per key with scope write.
    package var write: Bucket
    /// Per key with scope admin.
    package var admin: Bucket

    /// One bucket's parameters. A rate of 0 turns limiting off for that scope.
    package struct Bucket: Decodable, Sendable {
        /// Tokens added per second.
        package var rate: Double
        /// Bucket capacity.
        package var burst: Int

        /// - Parameters:
        ///   - rate: tokens added per second (0: no limit).
        ///   - burst: bucket capacity.
        package init(rate: Double, burst: Int) {
            self.rate = rate
            self.burst = burst
        }
    }

    /// - Parameters:
    ///   - public: callers without a valid key, per client address.
    ///   - read: per key with scope read.
    ///   - write: per key with scope write.
    ///   - admin: per key with scope admin.
    package init(public: Bucket, read: Bucket, write: Bucket, admin: Bucket) {
        self.public = `public`
        self.read = read
        self.write = write
        self.admin = admin
    }

    /// The bucket parameters for callers holding `scope`.
    package func bucket(for scope: Scope) -> Bucket {
        switch scope {
        case .read: read
        case .write: write
        case .admin: admin
        default: `public`
        }
    }
}
