/// The type of a config field; mirrors `jamey_config_type` in `jamey/plugin.h`.
///
/// New types may be added in later ABI minors; compare with the static members.
public struct ConfigFieldType: Hashable, Sendable, CustomStringConvertible {
    enum Base: UInt32, Hashable, Sendable {
        case string = 0, int = 1, double = 2, bool = 3, stringList = 4, object = 5, objectList = 6
    }

    let base: Base
    private init(_ base: Base) { self.base = base }

    /// A string (`JAMEY_CONFIG_STRING`). `min`/`max` bound its length in characters.
    public static let string = ConfigFieldType(.string)
    /// A 64-bit signed integer (`JAMEY_CONFIG_INT`). `min`/`max` bound its value.
    public static let int = ConfigFieldType(.int)
    /// A finite double (`JAMEY_CONFIG_DOUBLE`); integers are accepted. `min`/`max` bound its value.
    public static let double = ConfigFieldType(.double)
    /// A boolean (`JAMEY_CONFIG_BOOL`).
    public static let bool = ConfigFieldType(.bool)
    /// A list of strings (`JAMEY_CONFIG_STRING_LIST`). `min`/`max` bound its item count.
    public static let stringList = ConfigFieldType(.stringList)
    /// A nested map described by `fields` (`JAMEY_CONFIG_OBJECT`).
    public static let object = ConfigFieldType(.object)
    /// A list of maps, each described by `fields` (`JAMEY_CONFIG_OBJECT_LIST`). `min`/`max`
    /// bound its item count.
    public static let objectList = ConfigFieldType(.objectList)

    /// The type for a `jamey_config_type` value, or `nil` for a value this kernel does not know.
    ///
    /// - Parameter abiValue: the C enum's value.
    public init?(abiValue: UInt32) {
        guard let base = Base(rawValue: abiValue) else { return nil }
        self.init(base)
    }

    /// The `jamey_config_type` value.
    public var abiValue: UInt32 { base.rawValue }

    /// The type with an article, as used in messages: "a string", "an integer", "a list of maps".
    public var description: String {
        switch base {
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a number"
        case .bool: return "a boolean"
        case .stringList: return "a list of strings"
        case .object: return "a map"
        case .objectList: return "a list of maps"
        }
    }

    /// True for the types an environment variable can set: scalars and string lists.
    var isEnvironmentSettable: Bool {
        switch base {
        case .string, .int, .double, .bool, .stringList: return true
        case .object, .objectList: return false
        }
    }

    /// True for types with nested `fields`.
    var hasFields: Bool { base == .object || base == .objectList }

    /// True for types whose `min`/`max` bound a length (strings, lists) rather than a value.
    var boundsLength: Bool { base == .string || base == .stringList || base == .objectList }
}

extension ConfigFieldType {
    /// The short type name used in schema listings and JSON (`string`, `int`, `string_list`, ...).
    public var name: String {
        switch abiValue {
        case 0: "string"
        case 1: "int"
        case 2: "double"
        case 3: "bool"
        case 4: "string_list"
        case 5: "object"
        default: "object_list"
        }
    }
}
