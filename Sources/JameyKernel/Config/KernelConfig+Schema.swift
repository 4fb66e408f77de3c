extension KernelConfig {
    /// The schema of the kernel's keys (all but `plugins`).
    ///
    /// - Parameter hostName: the default of `node.name`.
    static func schema(hostName: String) -> ConfigSchema {
        var quotedHostName = ""
        ConfigValue.writeJSONString(hostName, to: &quotedHostName)
        return [
            ConfigField(
                key: "node", type: .object, description: "this node",
                fields: [
                    ConfigField(
                        key: "name", type: .string, defaultValue: quotedHostName, min: 1,
                        description: "the node's name (default: the host name)")
                ]),
            ConfigField(
                key: "data_dir", type: .string, defaultValue: "./data", min: 1,
                description: "where plugins keep their data; relative to the config file"),
            ConfigField(
                key: "plugin_dir", type: .string, min: 1,
                description: "where plugin libraries are searched; relative to the config file"),
            ConfigField(
                key: "log", type: .object, description: "logging",
                fields: [
                    ConfigField(
                        key: "level", type: .string, defaultValue: "info", description: "lowest level written",
                        allowedValues: LogLevel.allCases.map(\.rawValue)),
                    ConfigField(
                        key: "format", type: .string, defaultValue: "text", description: "line format",
                        allowedValues: LogFormat.allCases.map(\.rawValue)),
                ]),
            ConfigField(
                key: "shutdown", type: .object, description: "graceful shutdown",
                fields: [
                    ConfigField(
                        key: "timeout_ms", type: .int, defaultValue: "10000", min: 100, max: 600_000,
                        description: "how long plugins get to stop, in milliseconds")
                ]),
            ConfigField(
                key: "hooks", type: .object, description: "deadlines of plugin hooks",
                fields: HookDeadlines.schemaFields),
            ConfigField(
                key: "bus", type: .object, description: "the message bus",
                fields: [
                    ConfigField(
                        key: "queue_capacity", type: .int, defaultValue: "1024", min: 1, max: 1_000_000,
                        description: "messages queued per subscription"),
                    ConfigField(
                        key: "request_timeout_ms", type: .int, defaultValue: "5000", min: 1, max: 3_600_000,
                        description: "default request timeout, in milliseconds"),
                    ConfigField(
                        key: "workers", type: .int, defaultValue: "0", min: 0, max: 256,
                        description: "worker threads; 0 means one per core"),
                ]),
        ]
    }

    /// The schema of one `plugins.<name>` entry; its `config` key is handled separately.
    static let pluginEntrySchema: ConfigSchema = [
        ConfigField(key: "enabled", type: .bool, defaultValue: "true", description: "whether to load the plugin"),
        ConfigField(
            key: "path", type: .string, min: 1,
            description: "explicit shared-library path; relative to the config file"),
        ConfigField(
            key: "required", type: .bool, defaultValue: "false",
            description: "whether a failure of this plugin stops start-up"),
        ConfigField(
            key: "privileges", type: .stringList, defaultValue: "[]",
            description:
                "kernel privileges granted to the plugin; snapshot: it may run other plugins' snapshot and restore hooks (a backup plugin)",
            allowedValues: KernelConfig.PluginEntry.Privilege.allCases.map(\.rawValue)),
    ]

    /// The key of a plugin entry that holds the plugin's own section.
    static let pluginConfigKey = "config"
}
