/// One key of a config section's schema; mirrors `jamey_config_field` in `jamey/plugin.h`.
///
/// A plugin declares its section as a list of fields in its descriptor; the kernel validates the
/// operator's values against them before the plugin's `init`.
public struct ConfigField: Sendable, Equatable {
    /// The key, `[a-z0-9_]+`.
    public var key: String
    /// The value's type.
    public var type: ConfigFieldType
    /// The key must be present (`JAMEY_CONFIG_REQUIRED`). A required field has no default.
    public var isRequired: Bool
    /// The value is never shown in errors, descriptions or output (`JAMEY_CONFIG_SECRET`).
    /// Fields nested in a secret object are secret too.
    public var isSecret: Bool
    /// The default, written as YAML scalar or flow text (`"8080"`, `"true"`, `"info"`,
    /// `"[a, b]"`), or `nil` for none. For string and string-list fields plain scalars are taken
    /// as text, so `"8080"` is the string `8080` there.
    public var defaultValue: String?
    /// Lower bound (`JAMEY_CONFIG_HAS_MIN`): the value for numbers, the length for strings (in
    /// characters) and lists (in items).
    public var min: Double?
    /// Upper bound (`JAMEY_CONFIG_HAS_MAX`), with the same meaning as ``min``.
    public var max: Double?
    /// One line for `jamey config` output, or `nil`.
    public var description: String?
    /// For strings and string lists: the values allowed, or `nil` for any.
    public var allowedValues: [String]?
    /// For objects and object lists: the nested keys.
    public var fields: [ConfigField]
    /// For strings: the value names a file or directory, made absolute against the config
    /// file's directory when relative (`JAMEY_CONFIG_PATH`).
    public var isPath: Bool

    /// Creates a field.
    ///
    /// - Parameters:
    ///   - key: the key, `[a-z0-9_]+`.
    ///   - type: the value's type.
    ///   - isRequired: whether the key must be present.
    ///   - isSecret: whether the value must never be shown.
    ///   - defaultValue: the default as YAML text, or `nil`.
    ///   - min: the lower bound, or `nil`.
    ///   - max: the upper bound, or `nil`.
    ///   - description: one line of documentation, or `nil`.
    ///   - allowedValues: the allowed strings, or `nil`.
    ///   - fields: the nested keys of an object or object list.
    ///   - isPath: for strings, whether the value is a path resolved against the config file.
    public init(
        key: String, type: ConfigFieldType, isRequired: Bool = false, isSecret: Bool = false,
        defaultValue: String? = nil, min: Double? = nil, max: Double? = nil,
        description: String? = nil, allowedValues: [String]? = nil, fields: [ConfigField] = [], isPath: Bool = false
    ) {
        self.key = key
        self.type = type
        self.isRequired = isRequired
        self.isSecret = isSecret
        self.defaultValue = defaultValue
        self.min = min
        self.max = max
        self.description = description
        self.allowedValues = allowedValues
        self.fields = fields
        self.isPath = isPath
    }
}
