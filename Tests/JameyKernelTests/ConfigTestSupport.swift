import Foundation
import JameyTestKit

@testable import JameyKernel

/// Helpers shared by the Config*Tests files.
enum ConfigFixtures {
    /// Parses YAML that the test knows to be valid.
    static func yaml(_ text: String) throws -> ConfigValue? {
        try ConfigValue.parse(yaml: text, source: "test.yaml")
    }

    /// Validates YAML text against a schema at `path`, with `environment`.
    static func validate(
        _ text: String, _ schema: ConfigSchema, path: String = "plugins.demo.config",
        environment: [String: String] = [:]
    ) throws -> Result<ValidatedSection, ConfigErrors> {
        schema.validate(try yaml(text), path: path, source: "config.yaml", environment: environment)
    }

    /// The error sentences of a failed validation; empty on success.
    static func messages(_ result: Result<ValidatedSection, ConfigErrors>) -> [String] {
        if case .failure(let errors) = result { return errors.messages }
        return []
    }

    /// The errors of a failed validation; empty on success.
    static func errors(_ result: Result<ValidatedSection, ConfigErrors>) -> [ConfigError] {
        if case .failure(let errors) = result { return errors.errors }
        return []
    }

    /// Writes `text` to `name` in a fresh temporary directory and returns the file's path.
    static func write(_ text: String, named name: String = "jamey.yaml") throws -> String {
        let path = try TemporaryDirectory.make(prefix: "jamey-config-tests") + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

extension ConfigFixtures {
    /// A plugin schema exercising every field type, bounds, allowed values, secrets and nesting.
    static let mqttSchema: ConfigSchema = [
        ConfigField(key: "host", type: .string, isRequired: true, description: "broker host"),
        ConfigField(key: "port", type: .int, defaultValue: "1883", min: 1, max: 65535),
        ConfigField(key: "keepalive", type: .double, defaultValue: "30", min: 0.5, max: 3600),
        ConfigField(key: "clean_session", type: .bool, defaultValue: "true"),
        ConfigField(key: "client_id", type: .string, min: 1, max: 23),
        ConfigField(key: "log_level", type: .string, defaultValue: "info", allowedValues: ["debug", "info", "warning"]),
        ConfigField(key: "topics", type: .stringList, defaultValue: "[\"jamey/#\"]", min: 1, max: 4),
        ConfigField(key: "password", type: .string, isSecret: true, min: 8),
        ConfigField(key: "pin", type: .int, isSecret: true, min: 1000, max: 9999),
        ConfigField(
            key: "tls", type: .object,
            fields: [
                ConfigField(key: "ca_file", type: .string),
                ConfigField(key: "verify", type: .bool, defaultValue: "true"),
                ConfigField(key: "key_password", type: .string, isSecret: true),
            ]),
        ConfigField(
            key: "outbound", type: .objectList, max: 5,
            fields: [
                ConfigField(key: "topic", type: .string, isRequired: true),
                ConfigField(key: "qos", type: .int, defaultValue: "0", min: 0, max: 2),
                ConfigField(key: "token", type: .string, isSecret: true),
            ]),
    ]
}
