import CacheCore
import JameyPluginKit

extension CachePlugin {
    /// Name, version, config schema (`plugins.cache.config`) and HTTP routes.
    public static let manifest = PluginManifest(
        name: "cache",
        version: "1.0.0",
        description: "Namespaced cache: L1 in memory (W-TinyLFU, TTL), L3 in SQLite, read-through with single flight",
        provides: [.init("cache.l1", "1.0.0")],
        configuration: [
            .objectList(
                "namespaces", count: 0...256, description: "The cache namespaces",
                fields: [
                    .string("name", required: true, length: 1...64, description: "Namespace name ([a-z0-9][a-z0-9._-]*)"),
                    .int("max_bytes", default: 64 << 20, range: 4096...(1 << 40), description: "L1 bound in bytes"),
                    .int("l3_max_bytes", default: 256 << 20, range: 0...(1 << 44), description: "L3 bound in bytes (0: no L3)"),
                    .bool(
                        "l2", default: true,
                        description: "Keep values in L2 when l2.enabled (false: on this node only, in L1 and L3)"),
                    .bool(
                        "shared", default: true,
                        description:
                            "Tell the other nodes of its puts and invalidations, and use L2 when l2 (false: a namespace only this node reads)"
                    ),
                    .int("max_value_bytes", default: 1 << 20, range: 1...(1 << 30), description: "Largest value accepted"),
                    .int(
                        "default_ttl_ms", default: 0, range: 0...Int64(maxTTLMs),
                        description: "TTL of entries put without one (0: none)"),
                    .string(
                        "policy", default: "w-tinylfu", allowed: PolicyKind.names + ["tinylfu", "s3fifo"],
                        description: "L1 admission and eviction policy"),
                    .string("origin", default: "", description: "Bus topic that loads a missing key (empty: none)"),
                    .int(
                        "failure_ttl_ms", default: 0, range: 0...86_400_000,
                        description: "How long a failed load is returned without asking the origin again (0: not cached)"),
                    .int(
                        "warm_entries", default: 1000, range: 0...1_000_000,
                        description: "L3's hottest entries copied into L1 on start and on warm"),
                    .stringList(
                        "warm_keys", default: [], count: 0...10000,
                        description: "Keys read into L1 on start (from L2/L3 at once, else from the origin in the background)"),
                ]),
            .int(
                "load_timeout_ms", default: 5000, range: 1...600_000, description: "How long a read-through waits for its origin"),
            .bool(
                "bus_invalidations", default: true,
                description:
                    "Publish puts and invalidations as cache.invalidated.<namespace> bus events and apply other nodes' events"
            ),
            .int(
                "sketch_save_interval_s", default: 60, range: 1...86400,
                description: "How often each namespace's access frequency sketch is saved to L3 (and at stop)"),
            .object(
                "l2", description: "The Redis tier shared by nodes (between L1 and L3)",
                fields: [
                    .bool("enabled", default: false, description: "Use Redis as L2"),
                    .string("host", default: "127.0.0.1", description: "Redis host"),
                    .int("port", default: 6379, range: 1...65535, description: "Redis port"),
                    .string("key_prefix", default: "jamey:cache:", description: "Prefix of every Redis key"),
                    .int("connect_timeout_ms", default: 500, range: 1...60000, description: "Connection timeout"),
                    .int("command_timeout_ms", default: 500, range: 1...60000, description: "Command timeout"),
                ]),
        ],
        routes: routes,
        metricHelp: CacheMetrics.help
    )

    /// Bus topics this plugin answers.
    enum Topic {
        static let get = "cache.get"
        static let put = "cache.put"
        static let invalidate = "cache.invalidate"
        static let warm = "cache.warm"
        static let stats = "cache.stats"
    }

    /// The HTTP routes, each forwarded to the bus topic of the same operation.
    static let routes: [PluginManifest.Route] = [
        .init(
            "GET", "/v1/cache/stats", topic: Topic.stats, scope: "read", summary: "Cache: counters per namespace and tier",
            operationID: "cacheStats", responseSchema: Schemas.stats),
        .init(
            "GET", "/v1/cache/{namespace}/{key}", topic: Topic.get, scope: "read", summary: "Cache: read a key",
            operationID: "cacheGet", responseSchema: Schemas.entry,
            details: "L1, then L3, then the namespace's origin (one load per key at a time). 404 when nothing has it."),
        .init(
            "PUT", "/v1/cache/{namespace}/{key}", topic: Topic.put, scope: "write", summary: "Cache: store a key",
            operationID: "cachePut", requestSchema: Schemas.put, responseSchema: Schemas.stored,
            details: "413 when the value exceeds the namespace's max_value_bytes; 400 for a bad ttl_ms."),
        .init(
            "DELETE", "/v1/cache/{namespace}/{key}", topic: Topic.invalidate, scope: "write",
            summary: "Cache: remove a key from every tier", operationID: "cacheDelete", responseSchema: Schemas.invalidated),
        .init(
            "POST", "/v1/cache/invalidate", topic: Topic.invalidate, scope: "write",
            summary: "Cache: remove a key or every key with a prefix from every tier", operationID: "cacheInvalidate",
            requestSchema: Schemas.invalidate, responseSchema: Schemas.invalidated),
        .init(
            "POST", "/v1/cache/warm", topic: Topic.warm, scope: "write",
            summary: "Cache: copy L3's hottest entries into L1 and load the keys given", operationID: "cacheWarm",
            requestSchema: Schemas.warm, responseSchema: Schemas.warmed, longRunning: true),
    ]
}
