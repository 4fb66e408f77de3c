/// A value as the L1 holds it: the bytes and the wall-clock expiry (Unix milliseconds), so a value
/// copied between tiers keeps its remaining lifetime.
struct CachedValue: Sendable, Equatable {
    /// The value.
    let bytes: [UInt8]
    /// When it expires (Unix ms), nil for never.
    let expiresAt: Int64?

    /// The L1 weight: key and value bytes plus the per-entry bookkeeping.
    static func weight(key: String, bytes: Int) -> Int { key.utf8.count + bytes + 64 }
}
