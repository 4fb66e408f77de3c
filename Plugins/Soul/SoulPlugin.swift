import Foundation
import JameyGRDB
import JameyPluginKit
import SoulCore

/// The soul plugin: entities with trust, decay, emotions, empathy and linked memory items, in
/// SQLite, over the bus (`soul.entities.upsert|get|list|delete`, `soul.emotions.record`,
/// `soul.memories.link`, `soul.decay`, `soul.conscience.record`) and HTTP (`/v1/soul/...`).
/// `soul.conscience.record` asks the conscience plugin (`conscience.evaluate`) over the bus and
/// feeds its score to the entity's emotions and trust; everything else works without it.
/// Entities live in `<data_dir>/soul/soul.sqlite`; snapshot and restore use SQLite's online backup.
public final class SoulPlugin: JameyPlugin, SnapshotCapable {
    let context: PluginContext
    let configuration: SoulConfiguration
    let store: SoulStore
    /// The database failures answered lately, which make health degraded.
    let databaseFailures = RecentDatabaseFailures()
    let metrics: SoulMetrics

    /// Opens (creating and migrating when needed) the soul database.
    /// - Throws: when the data directory or the database cannot be used.
    public init(context: PluginContext, configuration: SoulConfiguration) async throws {
        self.context = context
        self.configuration = configuration
        let directory = try context.dataDirectory()
        do {
            store = try SoulStore(directory: directory)
        } catch {
            throw JameyError("cannot open the soul database in \(directory): \(error)")
        }
        metrics = SoulMetrics(factory: context.metrics)
        try refreshGauges()
    }

    /// Answers the bus topics (the api plugin forwards the HTTP routes to them).
    public func start() async throws {
        try subscribeHandlers()
        let count = try store.summary().count
        context.logger.info("soul started with \(count) entities")
    }

    /// Ok with the entity count and mean trust; unhealthy when the database cannot be read.
    public func health() -> PluginHealthReport {
        guard let (count, mean) = try? store.summary() else { return .unhealthy("the soul database cannot be read") }
        if let failing = databaseFailures.summary { return .degraded("\(count) entities; \(failing)") }
        return .ok("\(count) entities; mean trust \(String(format: "%.3f", mean))")
    }

    public func snapshot(to directory: String) async throws {
        try store.snapshot(into: directory)
    }

    public func restore(from directory: String) async throws {
        try store.restore(from: directory)
        try refreshGauges()
    }

    /// Sets the entity-count and mean-trust gauges from the database.
    func refreshGauges() throws {
        let (count, mean) = try store.summary()
        metrics.entities.record(count)
        metrics.meanTrust.record(mean)
    }
}
