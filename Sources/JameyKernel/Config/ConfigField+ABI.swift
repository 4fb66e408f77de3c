import CJameyABI

extension ConfigField {
    /// Reads a C `jamey_config_field` array (and nested ones) into Swift through `reader`, so
    /// every string is bounded, every count is checked against ``DescriptorLimits`` and every
    /// pointer is read without trusting it.
    /// - Throws: `LoadError` for unreadable or over-limit data, `ConfigErrors` for a field whose
    ///   type is unknown.
    static func fields(
        _ base: UnsafePointer<jamey_config_field>?, count: Int, reader: DescriptorReader, path: String = "", depth: Int = 1
    ) throws -> [ConfigField] {
        guard count > 0 else { return [] }
        func fail(_ message: String) -> ConfigErrors {
            ConfigErrors([ConfigError(kind: .invalidSchema, keyPath: path, message: message)])
        }
        guard depth <= DescriptorLimits.configDepth else {
            throw fail("config objects nest deeper than the limit of \(DescriptorLimits.configDepth) levels")
        }
        let field = path.isEmpty ? "config_fields" : "config field '\(path)' fields"
        let list = try reader.array(
            base, count: count, limit: DescriptorLimits.configFields, field: field, elementName: "jamey_config_field")
        var result: [ConfigField] = []
        for (i, f) in list.enumerated() {
            let key = try reader.string(f.key, field: "\(field)[\(i)].key", limit: DescriptorLimits.configKey) ?? ""
            let here = path.isEmpty ? key : path + "." + key
            guard let type = ConfigFieldType(abiValue: f.type) else {
                throw fail("config field '\(here)' has unknown type \(f.type)")
            }
            var allowed: [String]? = nil
            if let list = f.allowed_values {
                var values: [String] = []
                var j = 0
                while true {
                    guard j < DescriptorLimits.configFields else {
                        throw fail(
                            "config field '\(here)' allowed_values: more than the limit of \(DescriptorLimits.configFields) values (or no NULL at its end)"
                        )
                    }
                    guard let entry = PluginMemory.load(UnsafePointer<CChar>?.self, at: UnsafeRawPointer(list + j)) else {
                        throw fail("config field '\(here)' allowed_values: the list ends in unreadable memory")
                    }
                    guard let entry else { break }
                    values.append(
                        try reader.string(
                            entry, field: "config field '\(here)' allowed_values[\(j)]", limit: DescriptorLimits.configValue)
                            ?? "")
                    j += 1
                }
                allowed = values
            }
            let nested = try fields(f.fields, count: f.field_count, reader: reader, path: here, depth: depth + 1)
            result.append(
                ConfigField(
                    key: key, type: type, isRequired: f.flags & JAMEY_CONFIG_REQUIRED != 0,
                    isSecret: f.flags & JAMEY_CONFIG_SECRET != 0,
                    defaultValue: try reader.string(
                        f.default_value, field: "config field '\(here)' default", limit: DescriptorLimits.configValue),
                    min: f.flags & JAMEY_CONFIG_HAS_MIN != 0 ? f.min : nil,
                    max: f.flags & JAMEY_CONFIG_HAS_MAX != 0 ? f.max : nil,
                    description: try reader.string(
                        f.description, field: "config field '\(here)' description", limit: DescriptorLimits.summary),
                    allowedValues: allowed, fields: nested, isPath: f.flags & JAMEY_CONFIG_PATH != 0))
        }
        return result
    }
}
