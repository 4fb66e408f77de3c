import CacheCore
import JameyPluginKit
import Metrics
import Synchronization

/// One namespace's metrics, through the kit's factory (the kernel adds `plugin="cache"`).
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `cache_hits_total` | counter | `namespace`, `tier` = l1 \| l2 \| l3 \| origin |
/// | `cache_misses_total` | counter | `namespace`, `tier` = l1 \| l2 \| l3 \| origin (no origin, or it failed) |
/// | `cache_evictions_total` | counter | `namespace`, `tier`, `cause` = size \| expired \| explicit |
/// | `cache_admissions_refused_total` | counter | `namespace` (L1 admission policy) |
/// | `cache_l2_deleted_again_total` | counter | `namespace` (another node's invalidations that deleted this node's loads from L2 again) |
/// | `cache_loads_total` | counter | `namespace`, `outcome` = ok \| failed \| shared \| too_large (returned, not kept) |
/// | `cache_load_duration_seconds` | histogram | `namespace` |
/// | `cache_bytes` | gauge | `namespace`, `tier` |
/// | `cache_entries` | gauge | `namespace`, `tier` |
/// | `cache_hit_ratio` | gauge | `namespace`, `tier` = l1 \| l3 \| all: hits over reads in the last minute |
final class CacheMetrics: Sendable {
    private let namespace: String
    let l1Hits: Counter
    let l1Misses: Counter
    let l2Hits: Counter
    let l2Misses: Counter
    let l3Hits: Counter
    let l3Misses: Counter
    let originHits: Counter
    let originMisses: Counter
    let loadsOK: Counter
    let loadsFailed: Counter
    let loadsShared: Counter
    let loadsTooLarge: Counter
    let loadDuration: Metrics.Timer
    let admissionsRefused: Counter
    /// Another node's invalidations that deleted keys from L2 again (``CacheNamespace/dropLoadedFromL2(key:prefix:)``).
    let l2DeletedAgain: Counter
    private let l1Evictions: [String: Counter]
    private let l3Evictions: [String: Counter]
    private let bytes: [String: Gauge]
    private let entries: [String: Gauge]
    private let reported = Mutex(CacheStatistics())
    private let ratios: [String: Gauge]
    /// Read counts as they were at past syncs, oldest first, at least a second apart: the first
    /// is the newest taken at least ``ratioWindow`` ago (or the start), the base of the ratios.
    private let samples: Mutex<[(at: ContinuousClock.Instant, reads: Reads)]>

    /// How far back the `cache_hit_ratio` gauges look.
    static let ratioWindow: Duration = .seconds(60)

    /// A namespace's reads and the reads each tier answered, since start (the hit ratios of
    /// `cache.stats` and of the gauges).
    struct Reads: Sendable, Equatable {
        /// L1's hits, and its hits and misses.
        var l1Hits = 0
        var l1Reads = 0
        /// L3's hits, and its hits and misses (reads that got past L1 and L2).
        var l3Hits = 0
        var l3Reads = 0
        /// Reads answered by any tier or the origin, and all reads.
        var served = 0
        var reads = 0
    }

    /// Registers every metric of `namespace` with `factory`.
    init(namespace: String, factory: any MetricsFactory, now: ContinuousClock.Instant = .now) {
        self.namespace = namespace
        samples = Mutex([(now, Reads())])
        func counter(_ label: String, _ extra: [(String, String)]) -> Counter {
            Counter(label: label, dimensions: [("namespace", namespace)] + extra, factory: factory)
        }
        l1Hits = counter("cache_hits_total", [("tier", "l1")])
        l1Misses = counter("cache_misses_total", [("tier", "l1")])
        l2Hits = counter("cache_hits_total", [("tier", "l2")])
        l2Misses = counter("cache_misses_total", [("tier", "l2")])
        l3Hits = counter("cache_hits_total", [("tier", "l3")])
        l3Misses = counter("cache_misses_total", [("tier", "l3")])
        originHits = counter("cache_hits_total", [("tier", "origin")])
        originMisses = counter("cache_misses_total", [("tier", "origin")])
        loadsOK = counter("cache_loads_total", [("outcome", "ok")])
        loadsFailed = counter("cache_loads_total", [("outcome", "failed")])
        loadsShared = counter("cache_loads_total", [("outcome", "shared")])
        loadsTooLarge = counter("cache_loads_total", [("outcome", "too_large")])
        loadDuration = Metrics.Timer(
            label: "cache_load_duration_seconds", dimensions: [("namespace", namespace)], factory: factory)
        admissionsRefused = counter("cache_admissions_refused_total", [])
        l2DeletedAgain = counter("cache_l2_deleted_again_total", [])
        var l1: [String: Counter] = [:]
        var l3: [String: Counter] = [:]
        for cause in ["size", "expired", "explicit"] {
            l1[cause] = counter("cache_evictions_total", [("tier", "l1"), ("cause", cause)])
            l3[cause] = counter("cache_evictions_total", [("tier", "l3"), ("cause", cause)])
        }
        l1Evictions = l1
        l3Evictions = l3
        var b: [String: Gauge] = [:]
        var e: [String: Gauge] = [:]
        for tier in ["l1", "l3"] {
            b[tier] = Gauge(label: "cache_bytes", dimensions: [("namespace", namespace), ("tier", tier)], factory: factory)
            e[tier] = Gauge(label: "cache_entries", dimensions: [("namespace", namespace), ("tier", tier)], factory: factory)
        }
        bytes = b
        entries = e
        var r: [String: Gauge] = [:]
        for tier in ["l1", "l3", "all"] {
            r[tier] = Gauge(label: "cache_hit_ratio", dimensions: [("namespace", namespace), ("tier", tier)], factory: factory)
        }
        ratios = r
    }

    /// Metrics that go nowhere (for tests that build a namespace without a kernel).
    static func discarding(namespace: String) -> CacheMetrics {
        CacheMetrics(namespace: namespace, factory: NOOPMetricsHandler.instance)
    }

    /// Counts L3 evictions.
    func l3Evicted(_ cause: String, _ n: Int) {
        if n > 0 { l3Evictions[cause]?.increment(by: Int64(n)) }
    }

    /// Sets the `cache_hit_ratio` gauges from the reads since the window's base (0 for a tier
    /// that had no reads in it), and keeps `reads` as a sample when the last is a second old.
    /// - Returns: the ratios set, by tier.
    @discardableResult
    func syncRatios(_ reads: Reads, now: ContinuousClock.Instant = .now) -> [String: Double] {
        let base = samples.withLock { samples in
            if let last = samples.last, now - last.at >= .seconds(1) { samples.append((now, reads)) }
            while samples.count > 1, now - samples[1].at >= Self.ratioWindow { samples.removeFirst() }
            return samples[0].reads
        }
        func ratio(_ hits: Int, _ reads: Int) -> Double { reads <= 0 ? 0 : Double(max(0, min(hits, reads))) / Double(reads) }
        let set = [
            "l1": ratio(reads.l1Hits - base.l1Hits, reads.l1Reads - base.l1Reads),
            "l3": ratio(reads.l3Hits - base.l3Hits, reads.l3Reads - base.l3Reads),
            "all": ratio(reads.served - base.served, reads.reads - base.reads),
        ]
        for (tier, value) in set { ratios[tier]?.record(value) }
        return set
    }

    /// Publishes what the L1 counted since the last call (evictions, refusals) and the tier sizes.
    func sync(l1 s: CacheStatistics, l3 size: (entries: Int, bytes: Int)?) {
        let last = reported.withLock { old in
            defer { old = s }
            return old
        }
        func add(_ c: Counter?, _ now: Int, _ before: Int) { if now > before { c?.increment(by: Int64(now - before)) } }
        add(l1Evictions["size"], s.evictionsSize, last.evictionsSize)
        add(l1Evictions["expired"], s.evictionsExpired, last.evictionsExpired)
        add(l1Evictions["explicit"], s.evictionsExplicit, last.evictionsExplicit)
        add(admissionsRefused, s.admissionsRefused, last.admissionsRefused)
        bytes["l1"]?.record(s.bytes)
        entries["l1"]?.record(s.entries)
        if let size {
            bytes["l3"]?.record(size.bytes)
            entries["l3"]?.record(size.entries)
        }
    }
}

/// The Redis tier's metrics: `cache_l2_up` (gauge, 1 or 0), `cache_l2_failures_total` (commands or
/// connection attempts that failed), `cache_l2_reconnects_total`.
final class L2Metrics: Sendable {
    private let up: Gauge
    private let failures: Counter
    private let reconnects: Counter
    private let reported = Mutex((failures: 0, reconnects: 0))

    init(factory: any MetricsFactory) {
        up = Gauge(label: "cache_l2_up", factory: factory)
        failures = Counter(label: "cache_l2_failures_total", factory: factory)
        reconnects = Counter(label: "cache_l2_reconnects_total", factory: factory)
    }

    /// Publishes the client's state and what it counted since the last call.
    func sync(_ client: L2Client) {
        up.record(client.isUp ? 1 : 0)
        let (f, r) = (client.failures, client.reconnections)
        let last = reported.withLock { old in
            defer { old = (f, r) }
            return old
        }
        if f > last.failures { failures.increment(by: Int64(f - last.failures)) }
        if r > last.reconnects { reconnects.increment(by: Int64(r - last.reconnects)) }
    }
}

extension CacheMetrics {
    /// `# HELP` text of each metric, for the manifest (`PluginManifest.metricHelp`).
    static let help: [String: String] = [
        "cache_hits_total": "Reads answered, by namespace and tier (l1, l2, l3, origin)",
        "cache_misses_total": "Reads a tier could not answer, by namespace and tier",
        "cache_hit_ratio": "Hits over reads in the last minute, by namespace and tier",
        "cache_loads_total": "Origin loads, by namespace and outcome (ok, failed, shared, too_large)",
        "cache_load_duration_seconds": "Time of an origin load, by namespace",
        "cache_admissions_refused_total": "Entries the L1 admission policy refused, by namespace",
        "cache_evictions_total": "Entries removed, by namespace, tier and cause (size, expired, explicit)",
        "cache_bytes": "Bytes held, by namespace and tier",
        "cache_entries": "Entries held, by namespace and tier",
        "cache_l2_up": "1 while the L2 Redis answers",
        "cache_l2_failures_total": "L2 Redis calls that failed",
        "cache_l2_reconnects_total": "Reconnections to the L2 Redis",
        "cache_l2_deleted_again_total":
            "Another node's invalidations that deleted from L2 again what this node's loads had put there, by namespace",
        "cache_invalidations_total": "Invalidations over the bus, by direction (sent, applied)",
        "cache_invalidation_gaps_total": "Gaps seen in another node's invalidation sequence (its L1 entries then dropped)",
    ]
}
