/// Validates values against fields, collecting every error.
///
/// One validator is used for one section; it is a value type and not shared between threads.
struct ConfigValidator {
    /// The file (or source name) the values came from, for error messages.
    let source: String?
    /// The environment consulted for overrides.
    let environment: [String: String]
    /// The errors found so far.
    private(set) var errors: [ConfigError] = []
    /// How many environment variables were applied.
    private(set) var environmentOverrides = 0
    /// The directory relative values of path fields are resolved against (the config file's);
    /// nil leaves them as written.
    let baseDirectory: String?

    init(source: String?, environment: [String: String], baseDirectory: String? = nil) {
        self.source = source
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    mutating func report(
        _ kind: ConfigError.Kind, at keyPath: String, variable: String? = nil, _ message: String
    ) {
        errors.append(
            ConfigError(
                kind: kind, keyPath: keyPath, source: variable == nil ? source : nil,
                variable: variable, message: message))
    }

    /// Validates a map against `fields`: reports unknown keys, validates every field, fills in
    /// defaults and applies environment overrides. Returns the result with keys in schema order.
    ///
    /// - Parameters:
    ///   - passThroughKeys: keys that are allowed but handled by the caller (left out of the
    ///     result).
    mutating func validateMap(
        _ map: ConfigMap, fields: [ConfigField], path: String, environmentEnabled: Bool, secret: Bool,
        passThroughKeys: [String] = []
    ) -> ConfigMap {
        let known = fields.map(\.key) + passThroughKeys
        for key in map.keys where !known.contains(key) {
            report(.unknownKey, at: ConfigKeyPath.child(path, key), Self.unknownKeyMessage(key, known: known))
        }
        var result = ConfigMap()
        for field in fields {
            let value = validateField(
                field, raw: map[field.key], parentPath: path,
                environmentEnabled: environmentEnabled, inheritedSecret: secret)
            if let value { result[field.key] = value }
        }
        return result
    }

    /// Validates one field's value, taken from the environment, the file or the default, in that
    /// order. A null value counts as absent. Returns `nil` when the field stays absent or is
    /// invalid.
    mutating func validateField(
        _ field: ConfigField, raw: ConfigValue?, parentPath: String, environmentEnabled: Bool, inheritedSecret: Bool
    ) -> ConfigValue? {
        let path = ConfigKeyPath.child(parentPath, field.key)
        let secret = inheritedSecret || field.isSecret
        if environmentEnabled, field.type.isEnvironmentSettable {
            let variable = ConfigEnvironment.variableName(forKeyPath: path)
            if let text = environment[variable] {
                environmentOverrides += 1
                guard let value = environmentValue(text, for: field, path: path, variable: variable, secret: secret) else {
                    return nil
                }
                return check(value, field: field, path: path, secret: secret, variable: variable, environmentEnabled: false)
            }
        }
        if let raw, !raw.isNull {
            return check(raw, field: field, path: path, secret: secret, variable: nil, environmentEnabled: environmentEnabled)
        }
        if let defaultText = field.defaultValue, let value = try? Self.defaultValue(defaultText, for: field) {
            return check(value, field: field, path: path, secret: secret, variable: nil, environmentEnabled: environmentEnabled)
        }
        if field.type == .object {
            return absentObject(field, path: path, environmentEnabled: environmentEnabled, secret: secret)
        }
        if field.isRequired {
            report(.missingRequired, at: path, Self.missingMessage(field))
        }
        return nil
    }

    /// An absent object takes its fields' defaults and overrides. It stays absent when it would be
    /// empty, or when it is optional and only required nested keys are missing and no environment
    /// variable set anything inside it.
    private mutating func absentObject(
        _ field: ConfigField, path: String, environmentEnabled: Bool, secret: Bool
    ) -> ConfigValue? {
        var nested = ConfigValidator(source: source, environment: environment)
        let map = nested.validateMap(
            ConfigMap(), fields: field.fields, path: path,
            environmentEnabled: environmentEnabled, secret: secret)
        environmentOverrides += nested.environmentOverrides
        if field.isRequired && nested.environmentOverrides == 0 {
            report(.missingRequired, at: path, Self.missingMessage(field))
            return nil
        }
        let onlyMissing = nested.errors.allSatisfy { $0.kind == .missingRequired }
        if nested.errors.isEmpty || !onlyMissing || nested.environmentOverrides > 0 {
            errors += nested.errors
        }
        guard nested.errors.isEmpty, !map.isEmpty else { return nil }
        return .map(map)
    }

    /// Parses a field's default text: YAML, with plain scalars taken as text for string and
    /// string-list fields (an empty default is the empty string or the empty list there).
    static func defaultValue(_ text: String, for field: ConfigField) throws(ConfigErrors) -> ConfigValue {
        let textual = field.type == .string || field.type == .stringList
        let parsed = try ConfigValue.parse(yaml: text, source: "default of '\(field.key)'", scalarsAsStrings: textual)
        switch (parsed, field.type) {
        case (nil, .string): return .string("")
        case (nil, .stringList): return .list([])
        default: return parsed ?? .null
        }
    }
}
