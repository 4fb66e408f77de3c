import CoreMetrics
import JameyPluginKit
import MemoryCore
import Synchronization

/// The plugin's metrics (each series gets `plugin="memory"` from the kernel; the `jamey_` prefix
/// is the kernel's own, so these are `memory_*`).
final class MemoryMetrics: Sendable {
    private let items: [MemoryLayer: any MeterHandler]
    private let bytes: [MemoryLayer: any MeterHandler]
    private let stores: [MemoryLayer: any CounterHandler]
    private let expired: [MemoryLayer: any CounterHandler]
    /// Searches and their latency by `layer`: the one layer searched, or `all` for a search
    /// across several.
    private let searches: [String: any CounterHandler]
    private let searchSeconds: [String: any TimerHandler]
    /// Items removed because their layer was over capacity, by layer.
    private let evictions: [MemoryLayer: any CounterHandler]
    private let consolidations: any CounterHandler
    /// Near-duplicates consolidation merged into an older item, by layer.
    private let merged: [MemoryLayer: any CounterHandler]
    /// Items consolidation moved, by `from->to` (``MemoryStore/consolidate(events:)``'s report keys).
    private let promoted: [String: any CounterHandler]
    private let errors: any CounterHandler
    /// Items stored but not yet merged into FTS5 and the postings.
    private let pending: any MeterHandler
    /// Merges of pending items into FTS5 and the postings, the items they merged, and each
    /// merge's time by phase (``MergeTiming``).
    private let indexMerges: any CounterHandler
    private let indexMergedItems: any CounterHandler
    private let mergePhases: [String: any TimerHandler]
    /// Each write transaction folding the postings delta into the main table.
    private let postingsFolds: any TimerHandler
    /// Item events committed and not yet published (the outbox's depth).
    private let outboxEvents: any MeterHandler
    /// Item events dropped because the outbox was full.
    private let outboxDropped: any CounterHandler
    private let outboxDroppedSeen = Mutex(0)
    /// Searches run at start to warm the plugin up (``Memory/warmUp()``), not counted as searches.
    private let warmUps: any CounterHandler

    /// Registers every series, at zero.
    init(factory: HostMetricsFactory) {
        func perLayer<H>(_ make: (MemoryLayer) -> H) -> [MemoryLayer: H] {
            Dictionary(uniqueKeysWithValues: MemoryLayer.all.map { ($0, make($0)) })
        }
        items = perLayer { factory.makeMeter(label: "memory_items", dimensions: [("layer", $0.name)]) }
        bytes = perLayer { factory.makeMeter(label: "memory_content_bytes", dimensions: [("layer", $0.name)]) }
        stores = perLayer { factory.makeCounter(label: "memory_stores_total", dimensions: [("layer", $0.name)]) }
        expired = perLayer { factory.makeCounter(label: "memory_expired_total", dimensions: [("layer", $0.name)]) }
        let scopes = MemoryLayer.all.map(\.name) + ["all"]
        searches = Dictionary(
            uniqueKeysWithValues: scopes.map {
                ($0, factory.makeCounter(label: "memory_searches_total", dimensions: [("layer", $0)]))
            })
        searchSeconds = Dictionary(
            uniqueKeysWithValues: scopes.map {
                ($0, factory.makeTimer(label: "memory_search_duration_seconds", dimensions: [("layer", $0)]))
            })
        evictions = perLayer { factory.makeCounter(label: "memory_evicted_total", dimensions: [("layer", $0.name)]) }
        consolidations = factory.makeCounter(label: "memory_consolidations_total", dimensions: [])
        merged = perLayer { factory.makeCounter(label: "memory_merged_total", dimensions: [("layer", $0.name)]) }
        promoted = Dictionary(
            uniqueKeysWithValues: Promotion.moves.map { from, to in
                (
                    "\(from.name)->\(to.name)",
                    factory.makeCounter(label: "memory_promoted_total", dimensions: [("from", from.name), ("to", to.name)])
                )
            })
        errors = factory.makeCounter(label: "memory_request_errors_total", dimensions: [])
        pending = factory.makeMeter(label: "memory_pending_items", dimensions: [])
        pending.set(Int64(0))
        indexMerges = factory.makeCounter(label: "memory_index_merges_total", dimensions: [])
        indexMergedItems = factory.makeCounter(label: "memory_index_merged_items_total", dimensions: [])
        mergePhases = Dictionary(
            uniqueKeysWithValues: MergeTiming().phases.map { name, _ in
                (name, factory.makeTimer(label: "memory_index_merge_phase_seconds", dimensions: [("phase", name)]))
            })
        postingsFolds = factory.makeTimer(label: "memory_postings_fold_seconds", dimensions: [])
        outboxEvents = factory.makeMeter(label: "memory_outbox_events", dimensions: [])
        outboxEvents.set(Int64(0))
        outboxDropped = factory.makeCounter(label: "memory_outbox_dropped_total", dimensions: [])
        outboxDropped.increment(by: 0)
        warmUps = factory.makeCounter(label: "memory_warmup_searches_total", dimensions: [])
        for layer in MemoryLayer.all {
            items[layer]?.set(Int64(0))
            bytes[layer]?.set(Int64(0))
            stores[layer]?.increment(by: 0)
            expired[layer]?.increment(by: 0)
        }
        for counter in [consolidations, errors, indexMerges, indexMergedItems, warmUps] + Array(searches.values)
            + Array(evictions.values) + Array(merged.values) + Array(promoted.values)
        {
            counter.increment(by: 0)
        }
    }

    func stored(_ layer: MemoryLayer) { stores[layer]?.increment(by: 1) }
    func warmedUp(searches: Int) { warmUps.increment(by: Int64(searches)) }
    func searched(_ filter: ItemFilter, since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        let scope = filter.layers.count == 1 ? filter.layers[0].name : "all"
        searches[scope]?.increment(by: 1)
        searchSeconds[scope]?.recordNanoseconds(Self.nanoseconds(elapsed))
    }
    func failed() { errors.increment(by: 1) }
    func swept(_ counts: [MemoryLayer: Int]) { for (layer, n) in counts { expired[layer]?.increment(by: Int64(n)) } }
    /// A consolidation committed (its evictions come through ``evicted(_:)``, as every
    /// transaction's do).
    func consolidated(_ report: ConsolidationReport) {
        consolidations.increment(by: 1)
        swept(report.expired)
        for (layer, n) in report.merged { merged[layer]?.increment(by: Int64(n)) }
        for (move, n) in report.promoted { promoted[move]?.increment(by: Int64(n)) }
    }
    /// A transaction that removed items for capacity committed.
    func evicted(_ counts: [MemoryLayer: Int]) { for (layer, n) in counts { evictions[layer]?.increment(by: Int64(n)) } }
    func pending(_ count: Int) { pending.set(Int64(count)) }
    /// A merge of pending items committed.
    func indexMerged(_ timing: MergeTiming) {
        indexMerges.increment(by: 1)
        indexMergedItems.increment(by: Int64(timing.items))
        for (name, duration) in timing.phases { mergePhases[name]?.recordNanoseconds(Self.nanoseconds(duration)) }
    }

    /// A fold of the postings delta committed, after `duration`.
    func postingsFolded(_ duration: Duration) { postingsFolds.recordNanoseconds(Self.nanoseconds(duration)) }

    /// A duration in whole nanoseconds, as the timers take it.
    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
    /// The outbox's depth, and its drops since the store opened.
    func outbox(depth: Int, dropped: Int) {
        outboxEvents.set(Int64(depth))
        let more = outboxDroppedSeen.withLock { seen in
            defer { seen = max(seen, dropped) }
            return dropped - seen
        }
        if more > 0 { outboxDropped.increment(by: Int64(more)) }
    }
    func counts(_ counts: [MemoryLayer: (items: Int, bytes: Int)]) {
        for (layer, c) in counts {
            items[layer]?.set(Int64(c.items))
            bytes[layer]?.set(Int64(c.bytes))
        }
    }
}

extension MemoryMetrics {
    /// `# HELP` text of each metric, for the manifest (`PluginManifest.metricHelp`).
    static let help: [String: String] = [
        "memory_items": "Items held now, by layer",
        "memory_content_bytes": "Bytes of item content, by layer",
        "memory_stores_total": "Store operations that added an item, by layer",
        "memory_expired_total": "Items removed when their time to live ran out, by layer",
        "memory_searches_total": "Searches, by layer (all: across several)",
        "memory_search_duration_seconds": "Search latency, by layer (all: across several)",
        "memory_evicted_total": "Items removed because their layer was over capacity, by layer",
        "memory_consolidations_total": "Consolidation runs committed",
        "memory_merged_total": "Near-duplicates consolidation merged into an older item, by layer",
        "memory_promoted_total": "Items consolidation moved to another layer, by from and to",
        "memory_request_errors_total": "Requests answered with an error",
        "memory_pending_items": "Items stored but not yet merged into the full-text index",
        "memory_index_merges_total": "Merges of pending items into the full-text index",
        "memory_index_merged_items_total": "Items merged into the full-text index",
        "memory_index_merge_phase_seconds": "Time of each merge into the full-text index, by phase",
        "memory_postings_fold_seconds": "Time of each transaction folding the postings delta into the main table",
        "memory_outbox_events": "Item events committed and not yet published",
        "memory_outbox_dropped_total": "Item events dropped because the outbox was full",
        "memory_warmup_searches_total": "Searches run at start to warm the plugin up",
    ]
}
