import CJameyABI
import Dispatch
import Logging
import Synchronization

/// The Jamey kernel: loads the configured plugins, validates their config, starts them in
/// dependency order, stops them in reverse, and owns the bus, the service registry and the
/// metrics registry they share.
///
/// `load()`, `start()` and `stop()` block the calling thread (they call plugin hooks); call them
/// from a thread that may block, not from a Swift concurrency executor — ``KernelService`` does
/// that for `jamey serve`.
public final class Kernel: Sendable {
    /// The kernel's configuration (the last one applied: ``reload(_:)`` replaces it).
    public var config: KernelConfig { configuration.withLock { $0 } }
    let configuration: Mutex<KernelConfig>
    /// The Prometheus registry and kernel-recorded metrics.
    public let metrics: KernelMetrics
    /// The service registry.
    public let services: ServiceRegistry
    /// The message bus.
    public let bus: MessageBus
    /// The kernel's logger.
    public let logger: Logger
    /// This node's name.
    public let nodeName: String
    /// This node's stable id.
    public let nodeID: String
    /// Absolute data directory.
    public let dataDirectory: String
    /// Directory searched for plugin libraries.
    public let pluginDirectory: String
    /// Every configured plugin, in config order (a reload may add and remove some).
    var records: [PluginRecord] { recordList.withLock { $0 } }
    let recordList: Mutex<[PluginRecord]>
    private let order = Mutex<[PluginRecord]>([])
    let environment: [String: String]
    let healthMonitor = HealthMonitor()
    /// Changes whenever a plugin's state or cached health changes (`plugins_generation`).
    let generation = Atomic<UInt64>(1)
    /// The C plugin list of the last generation asked for (`plugin_list`).
    let pluginList = Mutex<PluginListCache?>(nil)
    /// The kernel's own bus endpoint: plugin state events are published through it.
    let events: BusEndpoint
    let shutdownRequested = Atomic<Bool>(false)
    /// Held while plugins are stopped or started outside ``start()``: a restore
    /// (`plugin_restore`) and ``stop(deadline:)`` never interleave.
    let lifecycleLock = Mutex<Void>(())
    /// True while ``start()`` runs (set under ``lifecycleLock``): a reload, deploy, canary or
    /// restore then is refused (``refuseWhileStarting(_:)``). ``start()`` does not hold the lock
    /// for its whole run (it would hold every hook a started plugin's thread waits on), and a
    /// reload that came in meanwhile (SIGHUP is handled before start; the api serves operations
    /// once it is up) initialised a plugin start() was still initialising: two instances, the
    /// first never stopped.
    let starting = Atomic<Bool>(false)
    /// Snapshots running, by plugin name (``snapshot(plugin:into:)``): a reload, deploy, canary
    /// or restore that would stop one of those plugins is refused meanwhile (its stop waited
    /// behind the snapshot on the plugin's queue, missed its deadline, and the plugin was
    /// abandoned).
    let snapshotting = Mutex<[String: Int]>([:])
    /// How many instances each plugin has had (blue-green deploys name the next `name@N`).
    let deployGenerations = Mutex<[String: Int]>([:])
    /// Canary releases running now, by plugin name (``startCanary(plugin:path:weight:policy:)``).
    let canaries = Mutex<[String: Canary]>([:])
    /// How the last canary of each plugin ended (promoted, rolled back and why).
    let canaryOutcomes = Mutex<[String: String]>([:])
    /// Every plugin context this kernel made, kept for its life: a record is dropped when a
    /// deploy, a canary's rollback or a reload replaces or removes its plugin, but the plugin's
    /// code (never unloaded) and the tables it handed out may still pass its `jamey_host *`, which
    /// must then find an invalid context, never freed memory. One small object per plugin start.
    let hosts = Mutex<[PluginHost]>([])
    /// Where ``reloadFromSource()`` reads the config (``setReloadSource(_:)``), in a box (see
    /// ``ReloadSource``).
    let reloadSource = Mutex<ReloadSource?>(nil)
    /// The configuration the kernel was created with: what settings that take effect only at a
    /// start (node name, data_dir, plugin_dir, bus workers) are running with.
    let initialConfiguration: KernelConfig
    /// The plugins ``stop(deadline:)`` abandoned at their stop deadline, in stop order.
    let abandonedAtStop = Mutex<[String]>([])

    /// Creates a kernel; nothing is loaded until ``load()``.
    ///
    /// - Parameters:
    ///   - config: the loaded configuration.
    ///   - logger: the kernel's logger; plugins get children labelled `jamey.plugin.<name>`.
    ///   - pluginDirectory: overrides `config.pluginDirectory` and the default (the directory
    ///     holding the running executable).
    ///   - environment: environment used for `JAMEY_*` overrides of plugin sections.
    ///   - inspecting: true for a kernel that only loads and validates (`jamey config check`,
    ///     `plugins list`): it creates neither `data_dir` nor its `node-id` (a check run as root
    ///     made them root's, and the service's own user could then not start).
    public init(
        config: KernelConfig, logger: Logger, pluginDirectory: String? = nil,
        environment: [String: String] = ProcessEnvironment.current, inspecting: Bool = false
    ) throws(KernelError) {
        self.configuration = Mutex(config)
        self.initialConfiguration = config
        self.logger = logger
        self.environment = environment
        self.metrics = KernelMetrics()
        self.services = ServiceRegistry()
        self.bus = MessageBus(configuration: config.busConfiguration, metricsFactory: metrics.factory)
        self.events = bus.endpoint(owner: "kernel")
        self.nodeName = config.nodeName
        self.dataDirectory = config.dataDirectory
        self.pluginDirectory = pluginDirectory ?? config.pluginDirectory ?? FileSystem.executableDirectory()
        if inspecting {
            self.nodeID = NodeIdentity.existing(dataDirectory: config.dataDirectory) ?? ""
        } else {
            guard FileSystem.makeDirectories(config.dataDirectory, mode: 0o750) else {
                let reason = String(cString: strerror(errno))
                var info = stat()
                let exists = stat(config.dataDirectory, &info) == 0
                throw KernelError(
                    "data_dir \(config.dataDirectory) \(exists ? "is not a directory" : "cannot be created: \(reason)")")
            }
            self.nodeID = try NodeIdentity.load(dataDirectory: config.dataDirectory)
        }
        let records = config.plugins.map { PluginRecord(entry: $0) }
        self.recordList = Mutex(records)
        // A plugin disabled from the start is never set to a state: its series is made here.
        for record in records where record.state == .disabled { metrics.recordState(plugin: record.name, state: .disabled) }
    }

    /// Why `data_dir` could not be used by a server run as the current user, checked without
    /// creating anything (for `jamey config check`): it must be a writable directory, or the
    /// nearest directory that exists must be able to hold it. Nil when it could be used.
    public var dataDirectoryProblem: String? {
        FileSystem.whyNotWritableDirectory(dataDirectory).map { "data_dir \(dataDirectory) \($0)" }
    }

    /// A snapshot of every configured plugin, in config order.
    public var plugins: [PluginStatus] { records.map(status) }

    /// The status of one plugin by config name.
    public func plugin(named name: String) -> PluginStatus? {
        records.first { $0.name == name }.map(status)
    }

    func status(_ record: PluginRecord) -> PluginStatus {
        let (state, path, library, failure) = record.with { ($0.state, $0.path, $0.library, $0.failure) }
        let health: PluginHealth? = state == .started && library != nil ? cachedHealth(record) : nil
        var status = PluginStatus(
            name: record.name, state: state, path: path, version: library?.descriptor.version.description,
            abi: library?.descriptor.abiVersion, required: record.entry.required, failure: failure,
            requires: library?.descriptor.requires ?? [], provides: library?.descriptor.provides ?? [], health: health,
            routes: library?.descriptor.routes ?? [])
        let optional = status.requires.filter(\.optional)
        if !optional.isEmpty {
            status.unmet = Set(optional.filter { !isMet($0, besides: record) }.map(\.name))
        }
        return status
    }

    /// Whether a started plugin other than `record` is or provides `requirement` in its range.
    func isMet(_ requirement: PluginRequirement, besides record: PluginRecord) -> Bool {
        let range = VersionRange(requirement.range)
        return records.contains { other in
            guard other !== record, other.state == .started, let d = other.descriptor else { return false }
            if d.name == requirement.name { return range?.contains(d.version) == true }
            return d.provides.contains { $0.name == requirement.name && range?.contains($0.version) == true }
        }
    }

    func setState(_ record: PluginRecord, _ state: PluginState, failure: String? = nil) {
        let previous = record.with {
            let previous = $0.state
            $0.state = state
            if let failure { $0.failure = failure }
            return previous
        }
        let now = generation.add(1, ordering: .sequentiallyConsistent).newValue
        metrics.recordState(plugin: record.name, state: state)
        // The series are the plugin's, not an instance's: a deploy's or canary's second instance
        // leaves them to the one in the plugin list.
        if isListed(record) {
            metrics.recordHealth(plugin: record.name, status: state == .started ? cachedHealth(record)?.status : nil)
        }
        publishStateEvent(record, state: state, previous: previous, failure: failure, generation: now)
        if let failure {
            logger.error("plugin \(record.name) failed: \(failure)")
        } else {
            logger.debug("plugin \(record.name) is \(state)")
        }
    }

    /// Whether `record` is the instance the plugin list holds (not a canary, nor one a deploy is
    /// replacing or has replaced).
    func isListed(_ record: PluginRecord) -> Bool { recordList.withLock { $0.contains { $0 === record } } }

    /// Plugins in the order they were started (empty before ``start()``).
    var startOrder: [PluginRecord] { order.withLock { $0 } }
    func setStartOrder(_ records: [PluginRecord]) { order.withLock { $0 = records } }
}

/// The process environment as a dictionary.
public enum ProcessEnvironment {
    /// `environ` of this process.
    public static var current: [String: String] {
        var result: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") {
                result[String(s[..<eq])] = String(s[s.index(after: eq)...])
            }
            p += 1
        }
        return result
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension Kernel {
    /// The ABI major version this kernel speaks (`JAMEY_ABI_MAJOR`).
    public static var abiMajor: Int { Int(JAMEY_ABI_MAJOR) }
    /// The ABI minor version this kernel speaks (`JAMEY_ABI_MINOR`).
    public static var abiMinor: Int { Int(JAMEY_ABI_MINOR) }
}
