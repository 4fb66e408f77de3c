extension KernelConfig {
    /// Variables named `JAMEY_` + a config key path that no key of this config takes: a
    /// misspelling (`JAMEY_PLUGINS_API_CONFIG_PORTT`), a key inside an object list (which the
    /// environment cannot set), or a plugin the file does not list (the environment cannot add
    /// one). Each comes with a sentence saying which, and the closest variable that would work.
    ///
    /// Only names under a top-level key's prefix are judged (`JAMEY_PLUGINS_…`, `JAMEY_LOG_…`,
    /// `JAMEY_DATA_DIR`…), less ``nonConfigVariables``; other `JAMEY_*` variables belong to the
    /// tools. Variables under a configured plugin whose schema is not known (`schemas` lacks it:
    /// disabled, or failed to load) are not judged.
    /// - Parameters:
    ///   - environment: the process environment.
    ///   - schemas: the config schema of each loaded plugin, by config name.
    /// - Returns: one sentence per variable, sorted by name.
    public func unknownEnvironmentVariables(_ environment: [String: String], schemas: [String: ConfigSchema]) -> [String] {
        var known: Set<String> = []
        func add(_ fields: [ConfigField], under path: String) {
            for field in fields {
                let keyPath = path.isEmpty ? field.key : path + "." + field.key
                if field.type.isEnvironmentSettable { known.insert(ConfigEnvironment.variableName(forKeyPath: keyPath)) }
                if field.type.base == .object { add(field.fields, under: keyPath) }
            }
        }
        let top = KernelConfig.schema(hostName: "").fields
        add(top.filter { $0.key != "plugins" }, under: "")
        var unjudged: [String] = []
        for plugin in plugins {
            let path = "plugins." + plugin.name
            add(KernelConfig.pluginEntrySchema.fields + IsolationSettings.entryFields, under: path)
            if let schema = schemas[plugin.name] {
                add(schema.fields, under: path + ".config")
            } else {
                unjudged.append(ConfigEnvironment.variableName(forKeyPath: path + ".config") + "_")
            }
        }
        let prefixes = (top.map(\.key) + ["plugins"]).map { ConfigEnvironment.variableName(forKeyPath: $0) }
        return environment.keys.sorted().compactMap { name -> String? in
            guard !known.contains(name), !Self.nonConfigVariables.contains(name),
                prefixes.contains(where: { name == $0 || name.hasPrefix($0 + "_") }),
                !unjudged.contains(where: { name.hasPrefix($0) })
            else { return nil }
            let plugin = plugins.first { name.hasPrefix(ConfigEnvironment.variableName(forKeyPath: "plugins." + $0.name) + "_") }
            if name.hasPrefix(ConfigEnvironment.prefix + "PLUGINS_"), plugin == nil {
                return
                    "\(name) is set but names no plugin of the config file, so it is ignored (the environment can set a listed plugin's keys, not add a plugin)"
            }
            if let closest = ConfigText.closest(to: name, among: known, maximumDistance: 3) {
                return "\(name) is set but names no config key, so it is ignored: did you mean \(closest)?"
            }
            return
                "\(name) is set but names no config key, so it is ignored (keys inside lists cannot be set from the environment)"
        }
    }

    /// `JAMEY_*` variables under a config prefix that are read by the tools, not as config keys.
    static let nonConfigVariables: Set<String> = ["JAMEY_PLUGIN_RUNNER"]
}
