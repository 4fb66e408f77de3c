/// How long each plugin hook may run (`hooks.*`). A hook still running at its deadline marks the
/// plugin `failed` with a sentence naming the hook and the deadline; the kernel never waits for it
/// again (its thread is abandoned, none of the plugin's other hooks are called).
public struct HookDeadlines: Sendable, Equatable {
    /// `hooks.init_timeout_ms` (default 30 s).
    public var initialize: Duration
    /// `hooks.start_timeout_ms` (default 30 s).
    public var start: Duration
    /// `hooks.stop_timeout_ms` (default 5 s); also bounded by what is left of `shutdown.timeout_ms`.
    public var stop: Duration
    /// `hooks.health_timeout_ms` (default 3 s).
    public var health: Duration
    /// `hooks.health_interval_ms` (default 1 s): how often health is refreshed in the background.
    public var healthInterval: Duration
    /// `hooks.snapshot_timeout_ms` (default 10 min).
    public var snapshot: Duration
    /// `hooks.restore_timeout_ms` (default 10 min).
    public var restore: Duration

    /// The defaults stated in `config/jamey.yaml`.
    public static let defaults = HookDeadlines(
        initialize: .seconds(30), start: .seconds(30), stop: .seconds(5), health: .seconds(3),
        healthInterval: .seconds(1), snapshot: .seconds(600), restore: .seconds(600))

    /// - Parameters: one deadline per hook (see the properties).
    public init(
        initialize: Duration, start: Duration, stop: Duration, health: Duration, healthInterval: Duration,
        snapshot: Duration, restore: Duration
    ) {
        self.initialize = initialize
        self.start = start
        self.stop = stop
        self.health = health
        self.healthInterval = healthInterval
        self.snapshot = snapshot
        self.restore = restore
    }

    /// Reads each `hooks.<key>` in milliseconds through `milliseconds`; a value of 0 or less
    /// keeps the default.
    init(milliseconds: (String) -> Int64) {
        func value(_ key: String, _ fallback: Duration) -> Duration {
            let ms = milliseconds(key)
            return ms > 0 ? .milliseconds(ms) : fallback
        }
        let d = Self.defaults
        self.init(
            initialize: value("init_timeout_ms", d.initialize), start: value("start_timeout_ms", d.start),
            stop: value("stop_timeout_ms", d.stop), health: value("health_timeout_ms", d.health),
            healthInterval: value("health_interval_ms", d.healthInterval),
            snapshot: value("snapshot_timeout_ms", d.snapshot), restore: value("restore_timeout_ms", d.restore))
    }

    /// The config key of a hook's deadline (`hooks.init_timeout_ms`), for messages.
    static func key(of hook: String) -> String { "hooks.\(hook)_timeout_ms" }

    /// The schema of the `hooks` section.
    static let schemaFields: [ConfigField] = [
        field("init_timeout_ms", defaults.initialize, "deadline of a plugin's init hook"),
        field("start_timeout_ms", defaults.start, "deadline of a plugin's start hook"),
        field("stop_timeout_ms", defaults.stop, "deadline of a plugin's stop hook (within shutdown.timeout_ms)"),
        field("health_timeout_ms", defaults.health, "deadline of a plugin's health hook"),
        field("health_interval_ms", defaults.healthInterval, "how often plugin health is refreshed in the background"),
        field("snapshot_timeout_ms", defaults.snapshot, "deadline of a plugin's snapshot hook"),
        field("restore_timeout_ms", defaults.restore, "deadline of a plugin's restore hook"),
    ]

    private static func field(_ key: String, _ value: Duration, _ description: String) -> ConfigField {
        ConfigField(
            key: key, type: .int,
            defaultValue: "\(value.wholeMilliseconds)", min: 10,
            max: 3_600_000,
            description: description + ", in milliseconds")
    }
}
