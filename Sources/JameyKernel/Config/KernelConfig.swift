/// The kernel's own configuration: node identity, directories, logging, shutdown, the bus, and
/// the list of plugins with their raw sections.
///
/// Load it with ``load(path:defaultYAML:environment:)``. Every key can be overridden from the
/// environment (`JAMEY_DATA_DIR`, `JAMEY_LOG_LEVEL`, `JAMEY_PLUGINS_MQTT_ENABLED`, ...; see
/// ``ConfigEnvironment``). Relative `data_dir`, `plugin_dir` and `plugins.<name>.path` values —
/// from the file or the environment — are resolved against the directory of the config file, or
/// against the current directory for the embedded default; ``baseDirectory`` says which.
///
/// Immutable and `Sendable`.
public struct KernelConfig: Sendable, Equatable {
    /// Where the configuration came from: the config file's path as given, or
    /// `<embedded default>`. Name it in errors about plugin sections.
    public let source: String
    /// The absolute directory relative paths were resolved against.
    public let baseDirectory: String
    /// `node.name`: this node's name (default: the host name).
    public let nodeName: String
    /// `data_dir`, absolute (default `./data`). Each plugin gets `<data_dir>/<plugin>/`.
    public let dataDirectory: String
    /// `plugin_dir`, absolute, or `nil` when not set (the caller picks the default).
    public let pluginDirectory: String?
    /// `log.level` (default `info`).
    public let logLevel: LogLevel
    /// `log.format` (default `text`).
    public let logFormat: LogFormat
    /// `shutdown.timeout_ms` (default 10 s, 100 ms to 10 min): how long plugins get to stop.
    public let shutdownTimeout: Duration
    /// `hooks.*`: how long each plugin hook may run before the plugin is marked `failed`.
    public let hooks: HookDeadlines
    /// `bus.*`: the message bus settings.
    public let bus: Bus
    /// `plugins`: every plugin entry, in file order.
    public let plugins: [PluginEntry]
    /// The validated kernel keys (everything but `plugins`) with defaults applied and paths as
    /// written.
    public let section: ValidatedSection
}

extension KernelConfig {
    /// The message bus settings (`bus.*`).
    public struct Bus: Sendable, Equatable {
        /// `bus.queue_capacity` (default 1024, 1...1 000 000): messages queued per subscription.
        public let queueCapacity: Int
        /// `bus.request_timeout_ms` (default 5 s, 1 ms to 1 h): timeout of requests that give none.
        public let requestTimeout: Duration
        /// `bus.workers` (default 0, 0...256): worker threads; 0 means one per core.
        public let workers: Int
    }

    /// One entry of the `plugins` map.
    public struct PluginEntry: Sendable, Equatable {
        /// The plugin's name, `[a-z0-9_-]+`: the map key.
        public let name: String
        /// `enabled` (default true): whether to load the plugin.
        public let enabled: Bool
        /// `path`, absolute: an explicit shared-library path, or `nil` to search `plugin_dir`.
        public let path: String?
        /// `required` (default false): whether a failure of this plugin stops start-up.
        public let required: Bool
        /// `privileges` (default none): what the operator allows this plugin beyond the usual.
        public var privileges: Set<Privilege> = []
        /// `config`: the plugin's own section as written, not yet validated (its schema is known
        /// only once the plugin is loaded), or `nil` when absent. May contain secrets: validate it
        /// with ``ConfigSchema/validate(_:path:source:environment:)`` at ``configKeyPath`` and show
        /// only the redacted result.
        public let rawConfig: ConfigValue?
        /// `isolation`, `limits` and `restart`: whether it runs in a child process, and how.
        public var isolation = IsolationSettings()

        /// `plugins.<name>.config`: the path to validate ``rawConfig`` at.
        public var configKeyPath: String { "plugins.\(name).config" }

        /// A kernel privilege an operator may grant a plugin (`plugins.<name>.privileges`).
        public enum Privilege: String, Sendable, CaseIterable {
            /// Run other plugins' `snapshot` and `restore` hooks (`plugin_snapshot`,
            /// `plugin_restore`): what a backup plugin needs.
            case snapshot
        }
    }
}
