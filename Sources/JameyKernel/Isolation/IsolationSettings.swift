/// How a plugin runs: `plugins.<name>.isolation`, `.limits` and `.restart` in the kernel config.
public struct IsolationSettings: Sendable, Equatable {
    /// `in_process` (default): the library is loaded into the kernel. `process`: it runs in a
    /// supervised child process (jamey-plugin-runner) and a crash there leaves the kernel serving.
    public var isolated = false
    /// `limits.memory_mb` (address space, RLIMIT_AS); 0 means no limit.
    public var memoryMB = 0
    /// `limits.cpu_seconds` (RLIMIT_CPU); 0 means no limit.
    public var cpuSeconds = 0
    /// `limits.open_files` (RLIMIT_NOFILE); 0 leaves the kernel's limit.
    public var openFiles = 0
    /// `limits.handler_timeout_ms`: a bus handler still running after this is hung; the child is
    /// killed and restarted.
    public var handlerTimeout: Duration = .seconds(30)
    /// `restart.*`: the backoff schedule and the quarantine threshold.
    public var restart = RestartPolicy()

    /// The default: in process.
    public init() {}

    /// The `plugins.<name>` keys this adds to the entry schema.
    static let entryFields: [ConfigField] = [
        ConfigField(
            key: "isolation", type: .string, defaultValue: "in_process",
            description: "in_process: load into the kernel; process: run in a supervised child process (crash isolation)",
            allowedValues: ["in_process", "process"]),
        ConfigField(
            key: "limits", type: .object, description: "resource limits of an isolated plugin's process",
            fields: [
                ConfigField(
                    key: "memory_mb", type: .int, defaultValue: "0", min: 0, max: 1_048_576,
                    description: "address-space limit in MiB (RLIMIT_AS); 0 means none"),
                ConfigField(
                    key: "cpu_seconds", type: .int, defaultValue: "0", min: 0, max: 31_536_000,
                    description: "CPU time limit in seconds (RLIMIT_CPU); 0 means none"),
                ConfigField(
                    key: "open_files", type: .int, defaultValue: "0", min: 0, max: 1_048_576,
                    description: "open file limit (RLIMIT_NOFILE); 0 keeps the kernel's"),
                ConfigField(
                    key: "handler_timeout_ms", type: .int, defaultValue: "30000", min: 1, max: 3_600_000,
                    description: "a bus handler running longer is hung: the process is killed and restarted"),
            ]),
        ConfigField(
            key: "restart", type: .object, description: "restart policy of an isolated plugin (systemd-style backoff)",
            fields: [
                ConfigField(
                    key: "delay_ms", type: .int, defaultValue: "100", min: 0, max: 3_600_000,
                    description: "delay before the first restart (systemd RestartSec)"),
                ConfigField(
                    key: "max_delay_ms", type: .int, defaultValue: "5000", min: 0, max: 3_600_000,
                    description: "the delay grows to this (systemd RestartMaxDelaySec)"),
                ConfigField(
                    key: "steps", type: .int, defaultValue: "5", min: 0, max: 1000,
                    description: "restarts over which the delay grows to max_delay_ms (systemd RestartSteps)"),
                ConfigField(
                    key: "window_s", type: .int, defaultValue: "60", min: 1, max: 86_400,
                    description: "the window crashes are counted in"),
                ConfigField(
                    key: "max_restarts", type: .int, defaultValue: "5", min: 0, max: 100_000,
                    description: "more crashes than this within window_s quarantine the plugin"),
            ]),
    ]

    /// The `limits` and `restart` keys as the config holds them (defaults filled in), for
    /// `jamey config show`.
    var entryKeys: ConfigMap {
        func milliseconds(_ duration: Duration) -> ConfigValue { .int(duration.wholeMilliseconds) }
        return [
            "limits": .map([
                "memory_mb": .int(Int64(memoryMB)), "cpu_seconds": .int(Int64(cpuSeconds)), "open_files": .int(Int64(openFiles)),
                "handler_timeout_ms": milliseconds(handlerTimeout),
            ]),
            "restart": .map([
                "delay_ms": milliseconds(restart.delay), "max_delay_ms": milliseconds(restart.maxDelay),
                "steps": .int(Int64(restart.steps)), "window_s": .int(restart.window.components.seconds),
                "max_restarts": .int(Int64(restart.maxRestarts)),
            ]),
        ]
    }

    /// Reads the validated entry keys (absent keys take their defaults).
    init(entry settings: ConfigMap) {
        isolated = settings["isolation"]?.stringValue == "process"
        let limits = settings["limits"]?.mapValue ?? ConfigMap()
        func int(_ map: ConfigMap, _ key: String, _ fallback: Int) -> Int { map[key]?.intValue.map(Int.init) ?? fallback }
        memoryMB = int(limits, "memory_mb", 0)
        cpuSeconds = int(limits, "cpu_seconds", 0)
        openFiles = int(limits, "open_files", 0)
        handlerTimeout = .milliseconds(int(limits, "handler_timeout_ms", 30_000))
        let restartMap = settings["restart"]?.mapValue ?? ConfigMap()
        restart = RestartPolicy(
            delay: .milliseconds(int(restartMap, "delay_ms", 100)),
            maxDelay: .milliseconds(int(restartMap, "max_delay_ms", 5000)),
            steps: int(restartMap, "steps", 5),
            window: .seconds(int(restartMap, "window_s", 60)),
            maxRestarts: int(restartMap, "max_restarts", 5))
    }
}
