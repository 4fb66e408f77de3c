import CacheCore

/// The `plugins.cache.config` section, decoded after the kernel validated it against
/// ``CachePlugin/manifest`` (defaults filled in).
public struct CacheConfiguration: Decodable, Sendable {
    /// The namespaces, each with its own bounds, TTL, policy and origin (none when absent).
    var namespaces: [Namespace]?
    /// How long a read-through waits for an origin, in milliseconds.
    var loadTimeoutMs: Int
    /// The shared Redis tier.
    var l2: L2
    /// Whether puts and invalidations are published as `cache.invalidated.<namespace>` bus events
    /// and other nodes' events are applied (the mqtt plugin carries them between nodes).
    var busInvalidations: Bool
    /// How often the frequency sketches are written to L3, in seconds (also at stop).
    var sketchSaveIntervalS: Int

    /// One namespace.
    struct Namespace: Decodable, Sendable {
        /// `[a-z0-9][a-z0-9._-]*`.
        var name: String
        /// L1 bound in bytes (keys + values + a fixed per-entry overhead).
        var maxBytes: Int
        /// L3 bound in bytes (0: no L3 for this namespace).
        var l3MaxBytes: Int
        /// Whether the namespace keeps values in Redis when `l2.enabled` (false: its values stay
        /// on the node, in L1 and L3; its puts and invalidations still reach the other nodes).
        var l2 = true
        /// Whether the other nodes hear of this namespace's puts and invalidations (and it uses
        /// L2 when `l2`); false for a namespace only this node reads, such as `memory-search`,
        /// whose keys name this node's run: each search there was an event on every other node
        /// and a Redis key nobody else could read.
        var shared = true
        /// The largest value accepted, in bytes.
        var maxValueBytes: Int
        /// TTL of entries put or loaded without one, in milliseconds (0: none).
        var defaultTtlMs: Int
        /// `w-tinylfu` (default), `lru`, `sieve` or `s3-fifo`.
        var policy: String
        /// The bus topic that loads a missing key (empty: no read-through).
        var origin: String
        /// How long a failed load is remembered and returned without asking the origin again, in
        /// milliseconds (0: failures are not cached).
        var failureTtlMs: Int
        /// How many of L3's hottest entries are copied into L1 on start and on `warm`.
        var warmEntries: Int
        /// Keys read into L1 on start.
        var warmKeys: [String]?
    }

    /// The L2 section.
    struct L2: Decodable, Sendable {
        /// Whether namespaces use Redis between L1 and L3.
        var enabled: Bool
        /// The Redis server.
        var host: String
        var port: Int
        /// Prepended to every Redis key (`<prefix><namespace>:<key>`).
        var keyPrefix: String
        var connectTimeoutMs: Int
        var commandTimeoutMs: Int
    }

    /// The policy kind of a namespace.
    static func policy(_ ns: Namespace) -> PolicyKind? { PolicyKind(name: ns.policy) }
}
