/// A config section that passed validation: its value with defaults and environment overrides
/// applied, and the schema it was checked against.
///
/// Immutable and `Sendable`; share it freely between threads.
public struct ValidatedSection: Sendable, Equatable {
    /// The section as a `.map`, keys in schema order. Contains secret values: never log it; use
    /// ``redacted()`` for anything shown.
    public let value: ConfigValue
    /// The schema the section was validated against.
    public let schema: ConfigSchema

    /// Creates a section. Use ``ConfigSchema/validate(_:path:source:environment:)`` rather than
    /// this, which does not validate.
    ///
    /// - Parameters:
    ///   - value: the validated value.
    ///   - schema: its schema.
    public init(value: ConfigValue, schema: ConfigSchema) {
        self.value = value
        self.schema = schema
    }

    /// The section as a JSON object, for the plugin's `init`. Contains secret values.
    public var json: String { value.jsonString() }

    /// The section with every secret value replaced by the string `"<redacted>"`, at any depth
    /// (inside objects and in every item of object lists). Safe to log and show.
    public func redacted() -> ConfigValue {
        Self.redact(value, fields: schema.fields)
    }

    /// The text that replaces secret values.
    public static let redactedText = "<redacted>"

    private static func redact(_ value: ConfigValue, fields: [ConfigField]) -> ConfigValue {
        guard case .map(let map) = value else { return value }
        var result = ConfigMap()
        for (key, item) in map {
            guard let field = fields.first(where: { $0.key == key }) else {
                result[key] = item
                continue
            }
            if field.isSecret {
                result[key] = .string(redactedText)
            } else if field.type == .object {
                result[key] = redact(item, fields: field.fields)
            } else if field.type == .objectList, case .list(let items) = item {
                result[key] = .list(items.map { redact($0, fields: field.fields) })
            } else {
                result[key] = item
            }
        }
        return .map(result)
    }
}
