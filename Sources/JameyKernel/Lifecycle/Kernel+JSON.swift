extension Kernel {
    /// Every configured plugin as a JSON array (what `plugins_json` in the ABI returns and
    /// `jamey plugins list --json` prints).
    public func pluginsJSON() -> String {
        ConfigValue.list(plugins.map(\.configValue)).jsonString()
    }
}

extension PluginStatus {
    /// The status as a JSON-ready value.
    var configValue: ConfigValue {
        var map = ConfigMap()
        map["name"] = .string(name)
        map["state"] = .string(state.rawValue)
        map["version"] = version.map(ConfigValue.string) ?? .null
        map["abi"] = abi.map(ConfigValue.string) ?? .null
        map["path"] = path.map(ConfigValue.string) ?? .null
        map["required"] = .bool(required)
        map["error"] = failure.map(ConfigValue.string) ?? .null
        if let health {
            var h = ConfigMap()
            h["status"] = .string(health.status)
            h["detail"] = .string(health.detail)
            map["health"] = .map(h)
        } else {
            map["health"] = .null
        }
        map["requires"] = .list(
            requires.map { r in
                var m = ConfigMap()
                m["name"] = .string(r.name)
                m["version"] = .string(r.range)
                if r.optional {
                    m["optional"] = .bool(true)
                    m["met"] = .bool(!unmet.contains(r.name))
                }
                return .map(m)
            })
        map["provides"] = .list(
            provides.map { p in
                var m = ConfigMap()
                m["name"] = .string(p.name)
                m["version"] = .string(p.version.description)
                return .map(m)
            })
        map["routes"] = .list(
            routes.map { r in
                var m = ConfigMap()
                m["method"] = .string(r.method)
                m["path"] = .string(r.path)
                m["topic"] = .string(r.topic)
                m["scope"] = .string(r.scope)
                m["summary"] = .string(r.summary)
                if let id = r.operationID { m["operation_id"] = .string(id) }
                m["long_running"] = .bool(r.longRunning)
                if let text = r.details { m["description"] = .string(text) }
                return .map(m)
            })
        return .map(map)
    }
}
