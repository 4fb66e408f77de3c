import ConscienceCore
import Foundation
import JameyGRDB
import JameyPluginKit
import Synchronization

/// The conscience plugin: moral rules in SQLite, full CRUD, and `evaluate(text)` over the bus
/// (`conscience.rules.create|get|update|delete|list`, `conscience.evaluate`) and HTTP
/// (`/v1/conscience/...`, served by the api plugin). Evaluations are recorded in the memory
/// plugin's short-term layer when one answers. Rules live in
/// `<data_dir>/conscience/conscience.sqlite`; snapshot and restore use SQLite's online backup.
public final class ConsciencePlugin: JameyPlugin, SnapshotCapable {
    let context: PluginContext
    let configuration: ConscienceConfiguration
    let store: RuleStore
    /// The database failures answered lately, which make health degraded.
    let databaseFailures = RecentDatabaseFailures()
    let metrics: ConscienceMetrics
    let recorder: MemoryRecorder
    /// The engine built from the stored rules; replaced after every change.
    let engine: Mutex<ConscienceEngine>
    /// Rows skipped when the rules were last loaded (invalid after a hand-edited restore).
    let skipped = Mutex<[String]>([])
    /// Serialises rule changes, so the engine always reflects the last write.
    let writes = Mutex<Void>(())

    /// Opens (creating, migrating and seeding when needed) the rule database and loads the rules.
    /// - Throws: when the data directory or the database cannot be used.
    public init(context: PluginContext, configuration: ConscienceConfiguration) async throws {
        self.context = context
        self.configuration = configuration
        let directory = try context.dataDirectory()
        do {
            store = try RuleStore(directory: directory)
        } catch {
            throw JameyError("cannot open the conscience database in \(directory): \(error)")
        }
        metrics = ConscienceMetrics(factory: context.metrics)
        recorder = MemoryRecorder(
            bus: context.bus, timeout: .milliseconds(configuration.memory.timeoutMs), metrics: metrics)
        engine = Mutex(ConscienceEngine(rules: [], settings: configuration.settings))
        try reload()
    }

    /// Answers the bus topics (the api plugin forwards the HTTP routes to them).
    public func start() async throws {
        try subscribeHandlers()
        context.logger.info("conscience started with \(engine.withLock { $0.rules.count }) rules")
    }

    /// Waits for memory records still in flight.
    public func stop() async throws {
        await recorder.drain()
    }

    /// Ok with the rule count; degraded when stored rows could not be loaded.
    public func health() -> PluginHealthReport {
        let count = engine.withLock { $0.rules.count }
        let bad = skipped.withLock { $0 }
        var problems: [String] = []
        if !bad.isEmpty {
            problems.append("\(bad.count) stored row(s) are invalid and ignored: \(bad.prefix(5).joined(separator: ", "))")
        }
        if let failing = databaseFailures.summary { problems.append(failing) }
        guard problems.isEmpty else { return .degraded((["\(count) rules"] + problems).joined(separator: "; ")) }
        return .ok("\(count) rules; approval threshold \(ConscienceEngine.format(configuration.approvalThreshold))")
    }

    public func snapshot(to directory: String) async throws {
        try store.snapshot(into: directory)
    }

    public func restore(from directory: String) async throws {
        try writes.withLock { _ in
            try store.restore(from: directory)
            try reload()
        }
    }

    /// Rebuilds the engine from the database.
    func reload() throws {
        let (rules, invalid) = try store.all()
        engine.withLock { $0 = ConscienceEngine(rules: rules, settings: configuration.settings) }
        skipped.withLock { $0 = invalid }
        metrics.rules.record(rules.count)
        if !invalid.isEmpty {
            context.logger.warning("ignoring \(invalid.count) invalid stored rule(s): \(invalid.joined(separator: ", "))")
        }
    }
}
