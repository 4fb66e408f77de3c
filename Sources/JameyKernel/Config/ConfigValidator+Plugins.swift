extension ConfigValidator {
    /// Validates the kernel config's `plugins` map: plugin names, each entry's keys (with
    /// environment overrides), and that each `config` is a map. The `config` sections themselves
    /// are kept raw. Returns the entries in file order; invalid entries are left out (and
    /// reported).
    mutating func validatePlugins(_ raw: ConfigValue?, baseDirectory: String) -> [KernelConfig.PluginEntry] {
        let entries: ConfigMap
        switch raw {
        case nil, .null?:
            return []
        case .map(let map)?:
            entries = map
        case let other?:
            report(
                .typeMismatch, at: "plugins",
                "expected a map from plugin name to its settings, found \(other.foundDescription(secret: true))")
            return []
        }
        var result: [KernelConfig.PluginEntry] = []
        for (name, value) in entries {
            let path = ConfigKeyPath.child("plugins", name)
            guard KernelConfig.isValidPluginName(name) else {
                report(
                    .invalidName, at: path,
                    "invalid plugin name \(ConfigValue.string(name).shortRendering); names use only a-z, 0-9, '_' and '-'")
                continue
            }
            if let entry = validatePluginEntry(name, value, path: path, baseDirectory: baseDirectory) {
                result.append(entry)
            }
        }
        return result
    }

    private mutating func validatePluginEntry(
        _ name: String, _ value: ConfigValue, path: String, baseDirectory: String
    ) -> KernelConfig.PluginEntry? {
        let map: ConfigMap
        switch value {
        case .null: map = ConfigMap()
        case .map(let given): map = given
        default:
            report(
                .typeMismatch, at: path,
                "expected a map with the keys 'enabled', 'path', 'required', 'privileges' and 'config', found \(value.foundDescription(secret: true))"
            )
            return nil
        }
        let before = errors.count
        let configKey = KernelConfig.pluginConfigKey
        let settings = validateMap(
            map, fields: KernelConfig.pluginEntrySchema.fields + IsolationSettings.entryFields, path: path,
            environmentEnabled: true, secret: false, passThroughKeys: [configKey])
        var rawConfig: ConfigValue?
        switch map[configKey] {
        case nil, .null?:
            rawConfig = nil
        case .map?:
            rawConfig = map[configKey]
        case let other?:
            // The plugin's schema is unknown here, so any value may be a secret.
            report(
                .typeMismatch, at: ConfigKeyPath.child(path, configKey),
                "expected a map of the plugin's settings, found \(other.foundDescription(secret: true))")
        }
        // A growing delay that starts above where it stops was raised quietly to the start.
        let restart = settings["restart"]?.mapValue ?? ConfigMap()
        let low = restart["delay_ms"]?.intValue ?? 100
        let high = restart["max_delay_ms"]?.intValue ?? 5000
        if high < low {
            report(
                .outOfRange, at: ConfigKeyPath.child(ConfigKeyPath.child(path, "restart"), "max_delay_ms"),
                "max_delay_ms (\(high)) is below delay_ms (\(low)): the delay grows from delay_ms up to max_delay_ms")
        }
        guard errors.count == before else { return nil }
        var entry = KernelConfig.PluginEntry(
            name: name,
            enabled: settings["enabled"]?.boolValue ?? true,
            path: settings["path"]?.stringValue.map { KernelConfig.resolve($0, against: baseDirectory) },
            required: settings["required"]?.boolValue ?? false,
            privileges: Set(
                (settings["privileges"]?.listValue ?? []).compactMap {
                    $0.stringValue.flatMap(KernelConfig.PluginEntry.Privilege.init(rawValue:))
                }),
            rawConfig: rawConfig)
        entry.isolation = IsolationSettings(entry: settings)
        return entry
    }
}

extension KernelConfig {
    /// Whether `name` is a valid plugin name, `[a-z0-9_-]+`.
    ///
    /// - Parameter name: the name to check.
    public static func isValidPluginName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
            }
    }
}
