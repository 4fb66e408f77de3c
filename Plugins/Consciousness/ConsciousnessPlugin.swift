import ConsciousnessCore
import Foundation
import JameyPluginKit
import Synchronization

/// The consciousness plugin: `consciousness.process` (and `POST /v1/consciousness/process`) runs
/// a text through the workspace pipeline (``Consciousness``); a text that wins the competition is
/// published on `consciousness.workspace.broadcast` to every subscriber and stored in the memory
/// plugin's working layer when it runs. The conscience's score and the soul's reading of a named
/// entity feed the emotional state when those plugins run; without them the pipeline works the
/// same, with the emotional state's `source` saying what it had. `consciousness.metrics` (and
/// `GET /v1/consciousness/metrics`) reports every level with its inputs. The state lives in memory
/// (it describes the recent stream of texts and starts afresh with the plugin); a snapshot writes
/// it to `consciousness.json`, a restore puts it back, and a deploy hands it to the new build.
public final class ConsciousnessPlugin: JameyPlugin, SnapshotCapable, HandOverCapable {
    let context: PluginContext
    let configuration: ConsciousnessConfiguration
    let core: Consciousness
    let metrics: ConsciousnessMetrics
    /// Process requests running now (bounded by `max_in_flight`).
    let inFlight = Atomic<Int>(0)
    /// The plugin's clock origin: ``Consciousness`` reads seconds since it.
    let origin = ContinuousClock.now
    /// Memory stores still in flight, drained at stop.
    let pending = Mutex<[UInt64: Task<Void, Never>]>([:])
    let nextTask = Atomic<UInt64>(0)

    public init(context: PluginContext, configuration: ConsciousnessConfiguration) async throws {
        self.context = context
        self.configuration = configuration
        core = Consciousness(settings: configuration.settings)
        metrics = ConsciousnessMetrics(factory: context.metrics)
    }

    public func start() async throws {
        try subscribeHandlers()
        context.logger.info(
            "consciousness started; competition threshold \(configuration.competitionThreshold), at most \(configuration.maxInFlight) in flight"
        )
    }

    /// Waits for broadcasts still being stored in memory.
    public func stop() async throws {
        let tasks = pending.withLock { Array($0.values) }
        for task in tasks { await task.value }
    }

    /// The snapshot file's name.
    static let snapshotFile = "consciousness.json"

    public func snapshot(to directory: String) async throws {
        try core.snapshot(at: now).write(to: URL(fileURLWithPath: directory + "/" + Self.snapshotFile), options: .atomic)
    }

    public func restore(from directory: String) async throws {
        let path = directory + "/" + Self.snapshotFile
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JameyError("restore: \(path) does not exist or cannot be read")
        }
        try core.restore(data, at: now)
    }

    /// A deploy's new build goes on from this state (the same file as a snapshot): the workspace,
    /// attention and prediction describe the recent stream of texts, which a new build would
    /// otherwise start without.
    public func handOver(to directory: String) async throws { try await snapshot(to: directory) }

    /// Takes the running build's state (a file it cannot read fails the deploy: the running
    /// build goes on serving).
    public func takeOver(from directory: String) async throws { try await restore(from: directory) }

    /// Ok with the counts and the activity.
    public func health() -> PluginHealthReport {
        let levels = core.levels(at: now)
        return .ok(
            "\(levels.processed) texts processed, \(levels.workspace.broadcasts) broadcast; activity \(String(format: "%.3f", levels.workspace.activity))"
        )
    }

    /// Seconds since the plugin started.
    var now: Double {
        let elapsed = origin.duration(to: .now)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
