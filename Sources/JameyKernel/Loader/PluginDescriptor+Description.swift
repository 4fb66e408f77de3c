extension PluginDescriptor {
    /// Human-readable description (what `jamey plugins inspect` prints).
    public func textDescription(path: String) -> String {
        var lines = [
            "name:        \(name)",
            "version:     \(version)",
            "abi:         \(abiVersion)",
            "path:        \(path)",
            "description: \(summary)",
            "hooks:       \(hooks.sorted().joined(separator: ", "))",
            "requires:    \(requires.isEmpty ? "-" : requires.map { $0.optional ? "\($0) (optional)" : $0.description }.joined(separator: ", "))",
            "provides:    \(provides.isEmpty ? "-" : provides.map(\.description).joined(separator: ", "))",
            "routes:      \(routes.isEmpty ? "-" : "")",
        ]
        for r in routes {
            var line = "  \(r.description)"
            if let id = r.operationID { line += " operation \(id)" }
            if r.requestSchema != nil { line += ", request schema" }
            if r.responseSchema != nil { line += ", response schema" }
            if r.longRunning { line += ", long-running" }
            lines.append(line)
        }
        lines.append("config (plugins.\(name).config):")
        if configSchema.isEmpty { lines.append("  (no keys)") }
        func add(_ fields: [ConfigField], indent: String) {
            for f in fields {
                var parts = ["\(indent)\(f.key): \(f.type.name)"]
                if f.isRequired { parts.append("required") }
                if f.isSecret { parts.append("secret") }
                if f.isPath { parts.append("path") }
                if let d = f.defaultValue { parts.append("default \(f.isSecret ? "<redacted>" : d)") }
                if let lo = f.min { parts.append("min \(Self.number(lo))") }
                if let hi = f.max { parts.append("max \(Self.number(hi))") }
                if let allowed = f.allowedValues { parts.append("one of \(allowed.joined(separator: "|"))") }
                var line = parts.joined(separator: ", ")
                if let help = f.description, !help.isEmpty { line += "  — \(help)" }
                lines.append(line)
                add(f.fields, indent: indent + "  ")
            }
        }
        add(configSchema, indent: "  ")
        return lines.joined(separator: "\n")
    }

    /// JSON description (what `jamey plugins inspect --json` prints).
    public func jsonDescription(path: String) -> String {
        func field(_ f: ConfigField) -> ConfigValue {
            var m = ConfigMap()
            m["key"] = .string(f.key)
            m["type"] = .string(f.type.name)
            m["required"] = .bool(f.isRequired)
            m["secret"] = .bool(f.isSecret)
            if f.isPath { m["path"] = .bool(true) }
            m["default"] = f.defaultValue.map { .string(f.isSecret ? "<redacted>" : $0) } ?? .null
            m["min"] = f.min.map(ConfigValue.double) ?? .null
            m["max"] = f.max.map(ConfigValue.double) ?? .null
            m["allowed"] = f.allowedValues.map { .list($0.map(ConfigValue.string)) } ?? .null
            m["description"] = f.description.map(ConfigValue.string) ?? .null
            if !f.fields.isEmpty { m["fields"] = .list(f.fields.map(field)) }
            return .map(m)
        }
        var m = ConfigMap()
        m["name"] = .string(name)
        m["version"] = .string(version.description)
        m["abi"] = .string(abiVersion)
        m["path"] = .string(path)
        m["description"] = .string(summary)
        m["hooks"] = .list(hooks.sorted().map(ConfigValue.string))
        m["requires"] = .list(
            requires.map { r in
                var d = ConfigMap()
                d["name"] = .string(r.name)
                d["version"] = .string(r.range)
                if r.optional { d["optional"] = .bool(true) }
                return .map(d)
            })
        m["provides"] = .list(
            provides.map { p in
                var d = ConfigMap()
                d["name"] = .string(p.name)
                d["version"] = .string(p.version.description)
                return .map(d)
            })
        m["routes"] = .list(
            routes.map { r in
                var d = ConfigMap()
                d["method"] = .string(r.method)
                d["path"] = .string(r.path)
                d["topic"] = .string(r.topic)
                d["scope"] = .string(r.scope)
                d["summary"] = .string(r.summary)
                d["operation_id"] = r.operationID.map(ConfigValue.string) ?? .null
                d["details"] = r.details.map(ConfigValue.string) ?? .null
                d["long_running"] = .bool(r.longRunning)
                // The schemas as the plugin declared them (JSON Schema text).
                d["request_schema"] = r.requestSchema.map(ConfigValue.string) ?? .null
                d["response_schema"] = r.responseSchema.map(ConfigValue.string) ?? .null
                return .map(d)
            })
        m["config"] = .list(configSchema.map(field))
        return ConfigValue.map(m).jsonString()
    }

    static func number(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}
