import CJameyABI

/// One key of a plugin's config section: type, default, bounds, and whether it is required or
/// secret. The kernel validates the section against these before `init`.
public struct ConfigKey: Sendable {
    let key: String
    let type: jamey_config_type
    let flags: UInt32
    let defaultValue: String?
    let min: Double
    let max: Double
    let help: String?
    let allowed: [String]?
    let fields: [ConfigKey]

    private init(
        _ key: String, _ type: jamey_config_type, required: Bool, secret: Bool = false, default value: String?,
        min: Double? = nil, max: Double? = nil, help: String?, allowed: [String]? = nil, fields: [ConfigKey] = [],
        path: Bool = false
    ) {
        var flags: UInt32 = 0
        if path { flags |= JAMEY_CONFIG_PATH }
        if required { flags |= JAMEY_CONFIG_REQUIRED }
        if secret { flags |= JAMEY_CONFIG_SECRET }
        if min != nil { flags |= JAMEY_CONFIG_HAS_MIN }
        if max != nil { flags |= JAMEY_CONFIG_HAS_MAX }
        self.key = key
        self.type = type
        self.flags = flags
        self.defaultValue = value
        self.min = min ?? 0
        self.max = max ?? 0
        self.help = help
        self.allowed = allowed
        self.fields = fields
    }

    /// A string key.
    /// - Parameters:
    ///   - key: `[a-z0-9_]+`.
    ///   - default: the value when absent.
    ///   - required: must be present (then no default).
    ///   - secret: redacted everywhere it could be shown.
    ///   - allowed: the only values accepted.
    ///   - length: bounds on its length.
    ///   - description: one line for `jamey config` output.
    public static func string(
        _ key: String, default value: String? = nil, required: Bool = false, secret: Bool = false,
        allowed: [String]? = nil, length: ClosedRange<Int>? = nil, description: String? = nil
    ) -> ConfigKey {
        ConfigKey(
            key, JAMEY_CONFIG_STRING, required: required, secret: secret, default: value.map(Self.quoted),
            min: length.map { Double($0.lowerBound) }, max: length.map { Double($0.upperBound) }, help: description,
            allowed: allowed)
    }

    /// A string key naming a file or directory (`JAMEY_CONFIG_PATH`): the kernel hands `init` a
    /// relative value made absolute against the config file's directory, like `data_dir`, so it
    /// does not depend on where the server was started; "" stays "".
    /// - Parameters:
    ///   - key: `[a-z0-9_]+`.
    ///   - default: the value when absent ("" for none is usual).
    ///   - required: must be present (then no default).
    ///   - description: one line for `jamey config` output.
    public static func path(
        _ key: String, default value: String? = nil, required: Bool = false, description: String? = nil
    ) -> ConfigKey {
        ConfigKey(
            key, JAMEY_CONFIG_STRING, required: required, default: value.map(Self.quoted), help: description, path: true)
    }

    /// A 64-bit integer key, optionally bounded.
    public static func int(
        _ key: String, default value: Int64? = nil, range: ClosedRange<Int64>? = nil, required: Bool = false,
        description: String? = nil
    ) -> ConfigKey {
        ConfigKey(
            key, JAMEY_CONFIG_INT, required: required, default: value.map { String($0) },
            min: range.map { Double($0.lowerBound) }, max: range.map { Double($0.upperBound) }, help: description)
    }

    /// A floating-point key (integers accepted), optionally bounded.
    public static func double(
        _ key: String, default value: Double? = nil, range: ClosedRange<Double>? = nil, required: Bool = false,
        description: String? = nil
    ) -> ConfigKey {
        ConfigKey(
            key, JAMEY_CONFIG_DOUBLE, required: required, default: value.map { "\($0)" }, min: range?.lowerBound,
            max: range?.upperBound, help: description)
    }

    /// A boolean key.
    public static func bool(_ key: String, default value: Bool? = nil, required: Bool = false, description: String? = nil)
        -> ConfigKey
    {
        ConfigKey(key, JAMEY_CONFIG_BOOL, required: required, default: value.map { $0 ? "true" : "false" }, help: description)
    }

    /// A list of strings.
    public static func stringList(
        _ key: String, default value: [String]? = nil, required: Bool = false, count: ClosedRange<Int>? = nil,
        description: String? = nil
    ) -> ConfigKey {
        ConfigKey(
            key, JAMEY_CONFIG_STRING_LIST, required: required,
            default: value.map { "[" + $0.map(Self.quoted).joined(separator: ", ") + "]" },
            min: count.map { Double($0.lowerBound) }, max: count.map { Double($0.upperBound) }, help: description)
    }

    /// A nested map with its own keys.
    public static func object(_ key: String, required: Bool = false, description: String? = nil, fields: [ConfigKey])
        -> ConfigKey
    {
        ConfigKey(key, JAMEY_CONFIG_OBJECT, required: required, default: nil, help: description, fields: fields)
    }

    /// A list of maps, each with the given keys.
    public static func objectList(
        _ key: String, required: Bool = false, count: ClosedRange<Int>? = nil, description: String? = nil,
        fields: [ConfigKey]
    ) -> ConfigKey {
        ConfigKey(
            key, JAMEY_CONFIG_OBJECT_LIST, required: required, default: nil, min: count.map { Double($0.lowerBound) },
            max: count.map { Double($0.upperBound) }, help: description, fields: fields)
    }

    /// A YAML double-quoted scalar, so defaults like "yes" or "1.0" stay strings.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
