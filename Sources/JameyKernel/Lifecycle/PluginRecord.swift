import CJameyABI
import Dispatch
import Synchronization

/// Everything the kernel knows about one configured plugin. Reference type shared between the
/// lifecycle code and introspection; mutable parts are behind a lock.
final class PluginRecord: Sendable {
    let name: String
    /// The instance key: `name`, or `name@N` for the new instance of a blue-green deploy (its
    /// subscriptions and services are told apart from the old one's by it).
    let instance: String
    /// Lifecycle hooks of this plugin run here, one at a time.
    let queue: DispatchQueue
    /// Health hooks run here, one at a time, apart from lifecycle hooks (the header allows health
    /// at any time between init and deinit).
    let healthQueue: DispatchQueue
    /// The plugin's name as a C string kept for the life of the process, for crash lines.
    nonisolated(unsafe) let crashLabel: UnsafePointer<CChar>
    /// Total time in this plugin's hooks (lifecycle and health), in nanoseconds.
    let hookNanoseconds = Atomic<UInt64>(0)
    private let mutable: Mutex<Mutable>

    struct Mutable: @unchecked Sendable {
        /// The plugin's config entry (a reload may change it).
        var entry: KernelConfig.PluginEntry
        var state: PluginState
        var path: String?
        var library: PluginLibrary?
        var config: ValidatedSection?
        var host: PluginHost?
        var pluginState: UnsafeMutableRawPointer?
        var failure: String?
        /// A hook outlived its deadline: the queue is blocked for good, call no other hook.
        var abandoned = false
        /// The last health result and when it was taken (the background refresh keeps it fresh).
        var health: PluginHealth?
        var healthCheckedAt: ContinuousClock.Instant?
        /// Set while a health call runs on ``healthQueue``.
        var healthCallStarted: ContinuousClock.Instant?
        /// No more health calls: the plugin is about to be deinitialised.
        var healthClosed = false
    }

    init(entry: KernelConfig.PluginEntry, instance: String? = nil) {
        self.name = entry.name
        self.instance = instance ?? entry.name
        self.queue = DispatchQueue(label: "jamey.plugin.\(entry.name)")
        self.healthQueue = DispatchQueue(label: "jamey.plugin.\(entry.name).health")
        self.crashLabel = CrashContext.label(entry.name)
        self.mutable = Mutex(Mutable(entry: entry, state: entry.enabled ? .loaded : .disabled))
    }

    func with<R>(_ body: (inout Mutable) -> R) -> R { mutable.withLock { body(&$0) } }

    var state: PluginState { mutable.withLock { $0.state } }
    /// The plugin's config entry.
    var entry: KernelConfig.PluginEntry { mutable.withLock { $0.entry } }
    var failure: String? { mutable.withLock { $0.failure } }
    var library: PluginLibrary? { mutable.withLock { $0.library } }
    var descriptor: PluginDescriptor? { library?.descriptor }
}

/// A read-only view of one configured plugin.
public struct PluginStatus: Sendable {
    /// The config name.
    public let name: String
    /// Its lifecycle state.
    public let state: PluginState
    /// The library path, once resolved.
    public let path: String?
    /// The plugin's version, once loaded.
    public let version: String?
    /// The ABI version it was built for, once loaded.
    public let abi: String?
    /// Whether the config marks it required.
    public let required: Bool
    /// Why it failed, when `state == .failed`.
    public let failure: String?
    /// What it requires.
    public let requires: [PluginRequirement]
    /// What it provides.
    public let provides: [PluginProvision]
    /// Health from its health hook, when started.
    public let health: PluginHealth?
    /// HTTP routes it declares.
    public let routes: [PluginRoute]
    /// The names of its optional requirements (ABI 1.7) that no started plugin meets now.
    public var unmet: Set<String> = []
}

/// A plugin's health as reported by its hook.
public struct PluginHealth: Sendable, Equatable {
    /// `ok`, `degraded` or `unhealthy`.
    public let status: String
    /// Optional one-line detail.
    public let detail: String

    /// - Parameters:
    ///   - status: `ok`, `degraded` or `unhealthy`.
    ///   - detail: one line.
    public init(status: String, detail: String) {
        self.status = status
        self.detail = detail
    }
}
