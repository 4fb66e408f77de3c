/// A Jamey plugin written in Swift.
///
/// Conform a class to this protocol, describe it in ``manifest``, and export it with one line:
///
/// ```swift
/// @_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? { export(MyPlugin.self, r) }
/// ```
///
/// The kernel creates one instance per process with ``init(context:configuration:)``, then calls
/// ``start()``; at shutdown it calls ``stop()``. Hooks are called one at a time, from a kernel
/// thread that blocks until they finish; their async work runs on the kit's own executor thread
/// (one per plugin image, so a hook never waits for a free Swift concurrency pool thread), except
/// code isolated to an actor with its own executor. Handlers given to ``PluginBus/respond(_:handler:)``
/// run in tasks of their own on the Swift concurrency pool.
public protocol JameyPlugin: AnyObject, Sendable {
    /// The decoded config section (keys in snake_case map to camelCase properties).
    /// Use ``NoConfiguration`` when the plugin has none.
    associatedtype Configuration: Decodable & Sendable = NoConfiguration

    /// Name, version, dependencies and config schema. Read once, when the kernel loads the plugin.
    static var manifest: PluginManifest { get }

    /// Creates the plugin from its validated config. Register services and metrics here.
    /// - Parameters:
    ///   - context: the plugin's handle on the host (bus, services, logging, metrics, data dir).
    ///   - configuration: the validated section, defaults applied.
    /// - Throws: any error; its description becomes the plugin's failure reason.
    init(context: PluginContext, configuration: Configuration) async throws

    /// Begins work (subscribe, open connections). Default: nothing.
    func start() async throws

    /// Ends work. After it returns the plugin must not publish. Default: nothing.
    func stop() async throws

    /// Current health; called from any thread, must not block. Default: ``PluginHealthReport/ok``.
    func health() -> PluginHealthReport
}

extension JameyPlugin {
    public func start() async throws {}
    public func stop() async throws {}
    public func health() -> PluginHealthReport { .ok }
}

/// A plugin whose state the vault can back up: it writes a consistent copy of its data into a
/// directory and can restore from one.
public protocol SnapshotCapable: JameyPlugin {
    /// Writes a consistent copy of the plugin's state into `directory` (existing, empty).
    func snapshot(to directory: String) async throws
    /// Replaces the plugin's state with the copy in `directory`.
    func restore(from directory: String) async throws
}

/// A plugin whose in-memory state goes on in the new build a deploy or canary starts beside it
/// (ABI 1.7 `hand_over` / `take_over`): a warm cache, counters, what it attends to. Snapshot and
/// restore are its data, for backups; both builds share the data directory anyway.
///
/// The running instance's ``handOver(to:)`` writes into an empty private directory while it
/// goes on serving (what changes afterwards stays with it); then the new instance's
/// ``takeOver(from:)`` reads it, after its init and before its start. A hand-over that throws
/// starts the new build without the state; a take-over that throws fails the deploy, and the
/// running build goes on serving. Both builds must conform. Write a format version into the
/// files and refuse one you do not know: a deploy may go back to an older build.
public protocol HandOverCapable: JameyPlugin {
    /// Writes what the plugin holds in memory into `directory` (existing, empty, private).
    func handOver(to directory: String) async throws
    /// Takes what ``handOver(to:)`` of the running build wrote into `directory`.
    func takeOver(from directory: String) async throws
}

/// A plugin that takes a changed config section without a restart (ABI 1.3 `reconfigure`).
///
/// On a config reload that changed `plugins.<name>.config`, the kernel validates the new section
/// and calls this with it decoded. Return to have it in effect; throw
/// ``JameyError/Code/unsupported`` when this change needs a restart (the kernel restarts the
/// plugin with the new section); throw anything else to refuse it, which rolls the whole reload
/// back — keep the old settings in effect then. A plugin that does not conform is restarted.
public protocol Reconfigurable: JameyPlugin {
    /// Applies `configuration`; runs on the plugin's lifecycle thread, never beside start or stop.
    func reconfigure(_ configuration: Configuration) async throws
}

/// A plugin whose config section can be wrong in ways its schema cannot say: a file that must
/// exist and parse, an address, two keys that go together (ABI 1.6 `check`).
///
/// The kernel asks before anything acts on a section: when it loads the plugin (so
/// `jamey config check` reports these problems with the file's others, and `jamey serve` before
/// any plugin's init), before a config reload that changes the section stops anything (a problem
/// refuses the whole reload), and before a deploy starts a new build. The kit also asks at the
/// start of ``JameyPlugin/init(context:configuration:)`` (a plugin isolated in a child process is
/// not asked by the kernel), so `init` may rely on a checked configuration.
public protocol ConfigurationChecking: JameyPlugin {
    /// What is wrong with `configuration`: one sentence per problem, starting with the key it is
    /// about (`"tls.cert_file: /etc/x.pem does not exist"`; the kernel adds the file and
    /// `plugins.<name>.config`); empty when nothing is. Runs on a kernel thread with no context
    /// and possibly beside a running instance: read the files the section names if need be, but
    /// write nothing, bind nothing and reach no network.
    static func problems(in configuration: Configuration) -> [String]
}

/// The configuration of a plugin that declares no keys.
public struct NoConfiguration: Decodable, Sendable {
    public init() {}
    public init(from decoder: any Decoder) throws {}
}

/// A plugin's health, as reported to the kernel.
public struct PluginHealthReport: Sendable, Equatable {
    enum Status: Int32, Sendable { case ok = 0, degraded = 1, unhealthy = 2 }
    let status: Status
    /// One-line detail.
    public let detail: String
    /// `ok`, `degraded` or `unhealthy`.
    public var statusName: String {
        switch status {
        case .ok: "ok"
        case .degraded: "degraded"
        case .unhealthy: "unhealthy"
        }
    }

    /// Working normally.
    public static let ok = PluginHealthReport(status: .ok, detail: "")
    /// Working normally, with a detail line.
    public static func ok(_ detail: String) -> Self { .init(status: .ok, detail: detail) }
    /// Working with reduced function.
    public static func degraded(_ detail: String) -> Self { .init(status: .degraded, detail: detail) }
    /// Not working.
    public static func unhealthy(_ detail: String) -> Self { .init(status: .unhealthy, detail: detail) }
}
