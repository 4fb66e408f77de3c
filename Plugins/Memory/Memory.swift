import Foundation
import JameyGRDB
import JameyPluginKit
import MemoryCore
import Synchronization

/// The memory plugin: five layers of memory in one SQLite FTS5 database, with retention,
/// near-duplicate handling and consolidation, over the bus (`memory.items.*`,
/// `memory.consolidate`) and HTTP (`/v1/memory/...`). See the README section "Memory".
///
/// Bus handlers run in tasks of their own; database work runs on GRDB's queues. A maintenance
/// task sweeps expired items, runs scheduled consolidation and refreshes the counts that health
/// and the gauges show.
public final class Memory: JameyPlugin, SnapshotCapable {
    let context: PluginContext
    let store: MemoryStore
    /// The database failures answered lately, which make health degraded.
    let databaseFailures = RecentDatabaseFailures()
    let metrics: MemoryMetrics
    let sweepInterval: Duration?
    let consolidationInterval: Duration?
    let status = Mutex(Status())
    let maintenance = Mutex<Task<Void, Never>?>(nil)
    /// The `memory.search` table's context: closed at stop, so a table other plugins hold no
    /// longer keeps this instance's store (its database, checkpointer thread and indexes) alive.
    let service = Mutex<ServiceContext<MemoryService.Provider>?>(nil)
    /// Search replies in the cache plugin's `memory-search` namespace, when it runs.
    let searchCache: SearchCache

    /// What health reports, refreshed by the maintenance task.
    struct Status: Sendable {
        var counts: [MemoryLayer: (items: Int, bytes: Int)] = [:]
        var lastSweep: Date?
        var lastSweepRemoved = 0
        var lastConsolidation: Date?
        var lastError: String?
    }

    /// Opens (creating) `<data_dir>/memory/memory.sqlite`.
    /// - Parameters:
    ///   - context: the plugin's handle on the host.
    ///   - configuration: the validated `plugins.memory.config` section.
    /// - Throws: when the database cannot be opened or migrated.
    public init(context: PluginContext, configuration: MemoryConfiguration) async throws {
        self.context = context
        let directory = try context.dataDirectory()
        store = try MemoryStore(path: directory + "/" + MemoryStore.fileName, settings: try configuration.settings())
        metrics = MemoryMetrics(factory: context.metrics)
        store.mergeObserved.set { [metrics] in metrics.indexMerged($0) }
        store.foldObserved.set { [metrics] in metrics.postingsFolded($0) }
        store.evictionObserved.set { [metrics] in metrics.evicted($0) }
        searchCache = SearchCache(services: context.services, store: store)
        let sweep = configuration.sweepIntervalMs ?? 60000
        let consolidate = configuration.consolidationIntervalMs ?? 3_600_000
        sweepInterval = sweep > 0 ? .milliseconds(sweep) : nil
        consolidationInterval = consolidate > 0 ? .milliseconds(consolidate) : nil
    }

    /// Registers the `memory.search` service, answers the bus topics and starts the
    /// maintenance task.
    public func start() async throws {
        // What a crash or a failed publish left in the outbox goes out before anything newer
        // (subscribers started before this plugin hear it).
        publish()
        await warmUp()
        let provider = ServiceContext(
            MemoryService.Provider(
                store: store, metrics: metrics, cache: searchCache, logger: context.logger, failures: databaseFailures))
        service.withLock { $0 = provider }
        try context.services.register(MemoryService.name, version: MemoryService.version, table: MemoryService.table(provider))
        try registerHandlers()
        let task = Task { [self] in await maintain() }
        maintenance.withLock { $0 = task }
    }

    /// Stops the maintenance task and the background merge.
    public func stop() async throws {
        let task = maintenance.withLock { t in
            defer { t = nil }
            return t
        }
        task?.cancel()
        await task?.value
        service.withLock { $0 }?.close()
        // Off the kit's hook thread, which every instance of this library in the process shares
        // (the waits below can be long on a loaded machine: a merge in progress, a commit).
        let (store, logger) = (self.store, context.logger)
        await onOwnThread(named: "memory-stop") {
            // Pending items stay in the log; the next start merges them.
            store.merger.withLock { $0 }?.stop(wait: true)
            // Retrievals noted since the last write (``Reinforcements``).
            do { try store.flushReinforcements() } catch { logger.error("memory: retrievals not written at stop: \(error)") }
        }
        // Events the bus no longer takes stay in the outbox for the next start.
        publish()
    }

    /// Item counts per layer and the last sweep, from the cache the maintenance task keeps.
    public func health() -> PluginHealthReport {
        let s = status.withLock { $0 }
        let total = s.counts.values.reduce(0) { $0 + $1.items }
        let layers = MemoryLayer.all.map { "\($0.name) \(s.counts[$0]?.items ?? 0)" }.joined(separator: ", ")
        let sweep = s.lastSweep.map { "last sweep \(Replies.time($0)) removed \(s.lastSweepRemoved)" } ?? "no sweep yet"
        let detail = "\(total) items (\(layers)); \(sweep)"
        if let failing = databaseFailures.summary { return .degraded("\(detail); \(failing)") }
        if let error = s.lastError { return .degraded("\(detail); last maintenance error: \(error)") }
        return .ok(detail)
    }

    /// Writes a consistent copy of the database (SQLite online backup) into `directory`.
    public func snapshot(to directory: String) async throws {
        try store.snapshot(into: directory)
    }

    /// Replaces the database with the copy in `directory`, online.
    public func restore(from directory: String) async throws {
        // The events of changes made so far go out first; the restored outbox is discarded.
        publish()
        try store.restore(from: directory)
        searchCache.changed()
    }
}
