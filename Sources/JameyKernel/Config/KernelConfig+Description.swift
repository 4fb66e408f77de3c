extension KernelConfig {
    /// The effective kernel configuration as YAML text, for `jamey config show` and start-up
    /// logs: defaults and environment overrides applied, paths resolved, secrets redacted.
    ///
    /// A plugin's section is shown redacted when its validated section is passed in
    /// `pluginSections`; otherwise only its key names are shown, since which of its values are
    /// secret is unknown until the plugin is loaded.
    ///
    /// - Parameter pluginSections: validated plugin sections by plugin name.
    public func redactedDescription(pluginSections: [String: ValidatedSection] = [:]) -> String {
        var effective = section.redacted().mapValue ?? ConfigMap()
        effective["data_dir"] = .string(dataDirectory)
        effective["plugin_dir"] = pluginDirectory.map(ConfigValue.string)
        var pluginMap = ConfigMap()
        for plugin in plugins {
            var entry: ConfigMap = ["enabled": .bool(plugin.enabled), "required": .bool(plugin.required)]
            if let path = plugin.path { entry["path"] = .string(path) }
            if !plugin.privileges.isEmpty {
                entry["privileges"] = .list(plugin.privileges.map(\.rawValue).sorted().map(ConfigValue.string))
            }
            if plugin.isolation.isolated {
                entry["isolation"] = .string("process")
                for (key, value) in plugin.isolation.entryKeys { entry[key] = value }
            }
            if let validated = pluginSections[plugin.name] {
                entry["config"] = validated.redacted()
            } else if let keys = plugin.rawConfig?.mapValue?.keys {
                let listed = keys.isEmpty ? "no keys" : "keys " + keys.joined(separator: ", ")
                entry["config"] = .string("<not validated yet; \(listed)>")
            }
            pluginMap[plugin.name] = .map(entry)
        }
        effective["plugins"] = .map(pluginMap)
        let header =
            "# Effective kernel configuration from \(source); secrets redacted; "
            + "relative paths resolved against \(baseDirectory)\n"
        return header + ConfigValue.map(effective).yamlText()
    }
}
