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
/// | `cache_loads_total` | counter | `namespace`, `outcome` = ok \| failed \| shared |
/// | `cache_load_duration_seconds` | histogram | `namespace` |
/// | `cache_bytes` | gauge | `namespace`, `tier` |
/// | `cache_entries` | gauge | `namespace`, `tier` |
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
    let loadDuration: Metrics.Timer
    let admissionsRefused: Counter
    private let l1Evictions: [String: Counter]
    private let l3Evictions: [String: Counter]
    private let bytes: [String: Gauge]
    private let entries: [String: Gauge]
    private let reported = Mutex(CacheStatistics())

    /// Registers every metric of `namespace` with `factory`.
    init(namespace: String, factory: any MetricsFactory) {
        self.namespace = namespace
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
        loadDuration = Metrics.Timer(
            label: "cache_load_duration_seconds", dimensions: [("namespace", namespace)], factory: factory)
        admissionsRefused = counter("cache_admissions_refused_total", [])
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
    }

    /// Metrics that go nowhere (for tests that build a namespace without a kernel).
    static func discarding(namespace: String) -> CacheMetrics {
        CacheMetrics(namespace: namespace, factory: NOOPMetricsHandler.instance)
    }

    /// Counts L3 evictions.
    func l3Evicted(_ cause: String, _ n: Int) {
        if n > 0 { l3Evictions[cause]?.increment(by: Int64(n)) }
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
