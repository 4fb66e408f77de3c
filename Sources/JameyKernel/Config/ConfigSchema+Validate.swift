extension ConfigSchema {
    /// Validates a config section against this schema and returns it with defaults filled in.
    ///
    /// Checks, collecting every problem rather than stopping at the first: the schema itself
    /// (see ``validateSchema(path:source:)``); unknown keys (suggesting a known key within two
    /// edits); types (integers are accepted for numbers); bounds; allowed values; required keys;
    /// nested objects and object lists, with paths like `outbound[2].qos`. A key whose value is
    /// null counts as absent. Environment variables override the file for every scalar and
    /// string-list field outside object lists (see ``ConfigEnvironment``). Values of secret
    /// fields never appear in errors.
    ///
    /// Pure and thread-safe: call it from any thread.
    ///
    /// - Parameters:
    ///   - value: the section as parsed (a map), or `nil`/`.null` when the section is absent.
    ///   - path: the section's full key path, such as `plugins.mqtt.config` (empty for the top
    ///     level); it prefixes every error's key path and every environment variable name.
    ///   - source: the file the section came from, named in errors.
    ///   - environment: the process environment (`ProcessInfo.processInfo.environment`).
    ///   - baseDirectory: the directory relative values of path fields (``ConfigField/isPath``)
    ///     are made absolute against: the config file's; nil leaves them as written.
    /// - Returns: the validated section, or every error found.
    public func validate(
        _ value: ConfigValue?, path: String, source: String? = nil, environment: [String: String],
        baseDirectory: String? = nil
    ) -> Result<ValidatedSection, ConfigErrors> {
        let schemaErrors = self.schemaErrors(path: path, source: source)
        guard schemaErrors.isEmpty else { return .failure(ConfigErrors(schemaErrors)) }
        var validator = ConfigValidator(source: source, environment: environment, baseDirectory: baseDirectory)
        let map: ConfigMap
        switch value {
        case nil, .null?:
            map = ConfigMap()
        case .map(let given)?:
            map = given
        case let other?:
            validator.report(.typeMismatch, at: path, "expected a map, found \(other.foundDescription(secret: true))")
            return .failure(ConfigErrors(validator.errors))
        }
        let result = validator.validateMap(map, fields: fields, path: path, environmentEnabled: true, secret: false)
        guard validator.errors.isEmpty else { return .failure(ConfigErrors(validator.errors)) }
        return .success(ValidatedSection(value: .map(result), schema: self))
    }
}

/// Validates a config section against a schema; the same as
/// ``ConfigSchema/validate(_:path:source:environment:)``.
///
/// - Parameters:
///   - value: the section as parsed (a map), or `nil` when absent.
///   - schema: the section's schema.
///   - path: the section's full key path, such as `plugins.mqtt.config`.
///   - source: the file the section came from, named in errors.
///   - environment: the process environment.
///   - baseDirectory: where relative values of path fields are resolved (nil: as written).
/// - Returns: the validated section, or every error found.
public func validate(
    _ value: ConfigValue?, against schema: ConfigSchema, path: String, source: String? = nil,
    environment: [String: String], baseDirectory: String? = nil
) -> Result<ValidatedSection, ConfigErrors> {
    schema.validate(value, path: path, source: source, environment: environment, baseDirectory: baseDirectory)
}
