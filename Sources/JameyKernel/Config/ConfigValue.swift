/// A configuration value: the tree a YAML document, a default or an environment variable becomes.
///
/// Scalars follow the YAML 1.2 core schema: plain `true`/`false` are booleans, plain integers are
/// 64-bit integers, plain floats are doubles, plain `null`/`~`/empty are `.null`, and every quoted
/// scalar is a string. Maps keep the order their keys were written in (see ``ConfigMap``).
///
/// A value is immutable and `Sendable`; it may be shared between threads freely.
public enum ConfigValue: Sendable, Equatable {
    /// An explicit null (`~`, `null`, or an empty value).
    case null
    /// A boolean (`true` / `false`).
    case bool(Bool)
    /// A 64-bit signed integer.
    case int(Int64)
    /// A floating-point number. May be infinite or NaN when parsed from `.inf` / `.nan`;
    /// validation rejects those.
    case double(Double)
    /// A string.
    case string(String)
    /// A list (YAML sequence).
    case list([ConfigValue])
    /// A map (YAML mapping) with string keys in insertion order.
    case map(ConfigMap)
}

extension ConfigValue {
    /// The string, when this is `.string`.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, when this is `.int`.
    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The number, when this is `.double` or `.int` (integers convert to doubles).
    public var doubleValue: Double? {
        switch self {
        case .double(let value): return value
        case .int(let value): return Double(value)
        default: return nil
        }
    }

    /// The boolean, when this is `.bool`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The items, when this is `.list`.
    public var listValue: [ConfigValue]? {
        if case .list(let value) = self { return value }
        return nil
    }

    /// The map, when this is `.map`.
    public var mapValue: ConfigMap? {
        if case .map(let value) = self { return value }
        return nil
    }

    /// True when this is `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value at `key` when this is a map; `nil` otherwise or when the key is absent.
    ///
    /// - Parameter key: a key of this map.
    public subscript(key: String) -> ConfigValue? {
        mapValue?[key]
    }
}

extension ConfigValue: ExpressibleByNilLiteral {
    /// Creates `.null`.
    public init(nilLiteral: ()) { self = .null }
}

extension ConfigValue: ExpressibleByBooleanLiteral {
    /// Creates `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension ConfigValue: ExpressibleByIntegerLiteral {
    /// Creates `.int`.
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension ConfigValue: ExpressibleByFloatLiteral {
    /// Creates `.double`.
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension ConfigValue: ExpressibleByStringLiteral {
    /// Creates `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension ConfigValue: ExpressibleByArrayLiteral {
    /// Creates `.list`.
    public init(arrayLiteral elements: ConfigValue...) { self = .list(elements) }
}

extension ConfigValue: ExpressibleByDictionaryLiteral {
    /// Creates `.map`, keeping the literal's key order.
    public init(dictionaryLiteral elements: (String, ConfigValue)...) {
        self = .map(ConfigMap(elements))
    }
}
