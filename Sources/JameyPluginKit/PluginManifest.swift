/// What a plugin is and needs: the Swift form of the C descriptor.
public struct PluginManifest: Sendable {
    /// Unique name, `[a-z0-9_-]+`; names the config section `plugins.<name>`.
    public var name: String
    /// Semantic version of the plugin.
    public var version: String
    /// One line.
    public var description: String
    /// Plugins or services needed before this one starts.
    public var requires: [Requirement]
    /// Services this plugin registers (by the end of `start`).
    public var provides: [Provision]
    /// Schema of the config section.
    public var configuration: [ConfigKey]

    /// - Parameters:
    ///   - name: unique plugin name.
    ///   - version: semantic version.
    ///   - description: one line.
    ///   - requires: dependencies, started first.
    ///   - provides: services it registers.
    ///   - configuration: the schema of its config section.
    public init(
        name: String, version: String, description: String = "", requires: [Requirement] = [],
        provides: [Provision] = [], configuration: [ConfigKey] = []
    ) {
        self.name = name
        self.version = version
        self.description = description
        self.requires = requires
        self.provides = provides
        self.configuration = configuration
    }

    /// A plugin or service name with an accepted version range (`"^1.0"`, `">=1.2.0 <2.0.0"`, `"*"`).
    public struct Requirement: Sendable {
        /// Plugin or service name.
        public var name: String
        /// Accepted versions.
        public var versions: String
        /// - Parameters:
        ///   - name: plugin or service name.
        ///   - versions: accepted range; `"*"` for any.
        public init(_ name: String, _ versions: String = "*") {
            self.name = name
            self.versions = versions
        }
    }

    /// A service name and the exact version it is registered with.
    public struct Provision: Sendable {
        /// Service name.
        public var name: String
        /// Its semantic version.
        public var version: String
        /// - Parameters:
        ///   - name: service name.
        ///   - version: exact semantic version.
        public init(_ name: String, _ version: String) {
            self.name = name
            self.version = version
        }
    }
}
