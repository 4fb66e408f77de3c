/// Counters of one cache (or the sum of several stripes).
public struct CacheStatistics: Sendable, Equatable, Codable {
    /// Reads that found a live entry.
    public var hits = 0
    /// Reads that found nothing (or an expired entry).
    public var misses = 0
    /// Entries stored (admitted or not).
    public var puts = 0
    /// Entries evicted to stay within the byte bound.
    public var evictionsSize = 0
    /// Entries removed because their TTL passed.
    public var evictionsExpired = 0
    /// Entries removed by delete or invalidate.
    public var evictionsExplicit = 0
    /// New entries the admission policy turned away.
    public var admissionsRefused = 0
    /// Entries resident now.
    public var entries = 0
    /// Weight (bytes) resident now.
    public var bytes = 0

    public init() {}

    /// hits / (hits + misses), or 0 before the first read.
    public var hitRatio: Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }

    /// The field-by-field sum.
    public static func + (a: CacheStatistics, b: CacheStatistics) -> CacheStatistics {
        var s = a
        s.hits += b.hits
        s.misses += b.misses
        s.puts += b.puts
        s.evictionsSize += b.evictionsSize
        s.evictionsExpired += b.evictionsExpired
        s.evictionsExplicit += b.evictionsExplicit
        s.admissionsRefused += b.admissionsRefused
        s.entries += b.entries
        s.bytes += b.bytes
        return s
    }
}

/// What became of a put.
public enum PutOutcome: Sendable, Equatable {
    /// Stored and resident.
    case stored
    /// The admission policy preferred the entries already resident; nothing changed.
    case refused
    /// The entry weighs more than the cache (or one stripe of it) holds.
    case tooLarge
}
