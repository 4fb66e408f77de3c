import CJameyABI

extension ConfigField {
    /// Reads a C `jamey_config_field` array (and nested ones) into Swift, stepping by each array's
    /// own `struct_size` so fields from a plugin built for a later minor are read correctly.
    /// - Throws: `ConfigErrors` describing the first malformed field.
    static func fields(_ base: UnsafePointer<jamey_config_field>?, count: Int, path: String = "") throws(ConfigErrors)
        -> [ConfigField]
    {
        guard count > 0 else { return [] }
        func fail(_ message: String) -> ConfigErrors {
            ConfigErrors([ConfigError(kind: .invalidSchema, keyPath: path, message: message)])
        }
        guard let base, count <= 4096 else { throw fail("expected \(count) config fields, found a NULL list") }
        let stride = Int(base.pointee.struct_size)
        guard stride >= MemoryLayout<jamey_config_field>.size else {
            throw fail(
                "jamey_config_field too small: expected struct_size >= \(MemoryLayout<jamey_config_field>.size), found \(stride)")
        }
        var result: [ConfigField] = []
        let raw = UnsafeRawPointer(base)
        for i in 0..<count {
            let f = raw.advanced(by: i * stride).assumingMemoryBound(to: jamey_config_field.self).pointee
            let key = f.key.map { String(cString: $0) } ?? ""
            let here = path.isEmpty ? key : path + "." + key
            guard let type = ConfigFieldType(abiValue: f.type) else {
                throw fail("config field '\(here)' has unknown type \(f.type)")
            }
            var allowed: [String]? = nil
            if let list = f.allowed_values {
                var values: [String] = []
                var j = 0
                while let v = list[j], j < 1024 {
                    values.append(String(cString: v))
                    j += 1
                }
                allowed = values
            }
            let nested = try fields(f.fields, count: f.field_count, path: here)
            result.append(
                ConfigField(
                    key: key, type: type, isRequired: f.flags & JAMEY_CONFIG_REQUIRED != 0,
                    isSecret: f.flags & JAMEY_CONFIG_SECRET != 0, defaultValue: f.default_value.map { String(cString: $0) },
                    min: f.flags & JAMEY_CONFIG_HAS_MIN != 0 ? f.min : nil,
                    max: f.flags & JAMEY_CONFIG_HAS_MAX != 0 ? f.max : nil,
                    description: f.description.map { String(cString: $0) }, allowedValues: allowed, fields: nested))
        }
        return result
    }
}
