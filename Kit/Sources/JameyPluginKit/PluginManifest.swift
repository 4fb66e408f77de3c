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
    /// HTTP routes the api plugin serves for this plugin, forwarded as bus requests (ABI 1.1).
    public var routes: [Route]
    /// One line of `# HELP` text for each metric the plugin makes through its context's
    /// ``HostMetricsFactory`` (or `MetricsSystem`), by Prometheus name (`memory_items`): what
    /// operators and `promtool check metrics` see beside the series.
    public var metricHelp: [String: String]

    /// - Parameters:
    ///   - name: unique plugin name.
    ///   - version: semantic version.
    ///   - description: one line.
    ///   - requires: dependencies, started first.
    ///   - provides: services it registers.
    ///   - configuration: the schema of its config section.
    ///   - routes: HTTP routes forwarded to it as bus requests.
    ///   - metricHelp: help text by metric name.
    public init(
        name: String, version: String, description: String = "", requires: [Requirement] = [],
        provides: [Provision] = [], configuration: [ConfigKey] = [], routes: [Route] = [],
        metricHelp: [String: String] = [:]
    ) {
        self.name = name
        self.version = version
        self.description = description
        self.requires = requires
        self.provides = provides
        self.configuration = configuration
        self.routes = routes
        self.metricHelp = metricHelp
    }

    /// An HTTP route: the api plugin forwards matching requests to `topic` as bus requests (see
    /// `jamey_route` in jamey/plugin.h for the headers that carry method, path parameters and
    /// status). Answer them with ``PluginBus/respond(_:handler:)``.
    public struct Route: Sendable {
        /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
        public var method: String
        /// Path template: `/v1/things/{id}`.
        public var path: String
        /// Concrete bus topic.
        public var topic: String
        /// `public`, `read`, `write` or `admin`.
        public var scope: String
        /// One line for the OpenAPI document.
        public var summary: String
        /// The OpenAPI operationId and `jamey call` name (`[A-Za-z][A-Za-z0-9_]*`), or nil to let
        /// the api plugin derive one from the plugin, method and path.
        public var operationID: String?
        /// JSON Schema (a JSON object, as text) of the request body, or nil for any body.
        public var requestSchema: String?
        /// JSON Schema of the successful response body, or nil.
        public var responseSchema: String?
        /// A longer description for the OpenAPI document, or nil.
        public var details: String?
        /// The handler may take minutes: the gateway waits for it up to its
        /// `limits.operation_timeout_ms` instead of `limits.request_timeout_ms`
        /// (`JAMEY_ROUTE_LONG_RUNNING`).
        public var longRunning: Bool

        /// - Parameters:
        ///   - method: HTTP method.
        ///   - path: path template with `{param}` segments.
        ///   - topic: the bus topic to forward to.
        ///   - scope: the API key scope required.
        ///   - summary: one line for OpenAPI.
        ///   - operationID: OpenAPI operationId (unique in the document), or nil to derive one.
        ///   - requestSchema: JSON Schema text of the request body, or nil.
        ///   - responseSchema: JSON Schema text of the successful response, or nil.
        ///   - details: a longer description, or nil.
        ///   - longRunning: true for a handler that may take minutes (``longRunning``).
        public init(
            _ method: String, _ path: String, topic: String, scope: String = "read", summary: String = "",
            operationID: String? = nil, requestSchema: String? = nil, responseSchema: String? = nil, details: String? = nil,
            longRunning: Bool = false
        ) {
            self.method = method
            self.path = path
            self.topic = topic
            self.scope = scope
            self.summary = summary
            self.operationID = operationID
            self.requestSchema = requestSchema
            self.responseSchema = responseSchema
            self.details = details
            self.longRunning = longRunning
        }
    }

    /// A plugin or service name with an accepted version range (`"^1.0"`, `">=1.2.0 <2.0.0"`, `"*"`).
    public struct Requirement: Sendable {
        /// Plugin or service name.
        public var name: String
        /// Accepted versions.
        public var versions: String
        /// The plugin runs without it (ABI 1.7 `JAMEY_DEPENDENCY_OPTIONAL`): started after it when
        /// it is enabled, started anyway when it is absent or failed, and not restarted with it.
        public var optional: Bool
        /// - Parameters:
        ///   - name: plugin or service name.
        ///   - versions: accepted range; `"*"` for any.
        ///   - optional: an ordering, not a condition (see ``optional``).
        public init(_ name: String, _ versions: String = "*", optional: Bool = false) {
            self.name = name
            self.versions = versions
            self.optional = optional
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
