/// The limits the loader holds a plugin descriptor to. Every string is read with a bound and
/// every count checked against one of these before anything is read; the error names the limit.
/// Documented in `jamey/plugin.h` ("Limits").
enum DescriptorLimits {
    /// `name`, in bytes.
    static let name = 64
    /// `version`, in bytes.
    static let version = 64
    /// `description` and route or config field summaries, in bytes.
    static let summary = 1024
    /// A required or provided name, in bytes.
    static let dependencyName = 128
    /// A version range, in bytes.
    static let versionRange = 128
    /// `requires_count` and `provides_count`.
    static let dependencies = 64
    /// `route_count`.
    static let routes = 256
    /// A route's path, in bytes.
    static let routePath = 512
    /// A route's topic, in bytes.
    static let routeTopic = 256
    /// A route's method or scope, in bytes.
    static let routeWord = 16
    /// Config fields per object, and allowed values per field.
    static let configFields = 256
    /// Nesting depth of config objects.
    static let configDepth = 8
    /// A route's operation id, in bytes.
    static let operationID = 64
    /// A route's JSON Schema or description, in bytes.
    static let schema = 65536
    /// A config key, in bytes.
    static let configKey = 64
    /// A config default or allowed value, in bytes.
    static let configValue = 4096
}
