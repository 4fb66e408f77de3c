/// One operation of the server's OpenAPI document, as `jamey call` needs it.
struct OpenAPIOperation: Equatable, Sendable {
    /// One declared parameter.
    struct Parameter: Equatable, Sendable {
        /// Its name.
        var name: String
        /// `path`, `query`, `header` or `cookie`.
        var location: String
        /// Whether a call must give it.
        var required: Bool
    }

    /// The `operationId` (`listPlugins`, `hello_swift_get_v1_hello_by_name`), or `METHOD path`
    /// when the document gives none.
    var id: String
    /// Upper-case method (`GET`).
    var method: String
    /// The path template (`/v1/hello/{name}`).
    var path: String
    /// One line, possibly empty.
    var summary: String = ""
    /// Declared parameters (path-level ones included).
    var parameters: [Parameter] = []
    /// Whether the operation declares a request body.
    var acceptsBody = false
    /// Whether that body is required.
    var requiresBody = false
    /// The media types the body may have (`application/json`, `*/*`, ...).
    var bodyTypes: [String] = []
    /// Whether it needs no API key (`security: []`).
    var isPublic = false
    /// The gateway waits for it up to its `limits.operation_timeout_ms` (`x-jamey-long-running`).
    var isLongRunning = false

    /// The names of the `{name}` segments of ``path``, in order.
    var pathParameterNames: [String] {
        PathTemplateText.segments(path).compactMap(PathTemplateText.parameterName)
    }

    /// The declared parameter called `name`, if any.
    func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }
}

/// Helpers for `/a/{b}/c` path templates as text.
enum PathTemplateText {
    /// The segments of `path` (`/v1/hello/{name}` → `v1`, `hello`, `{name}`).
    static func segments(_ path: some StringProtocol) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { Substring($0) }
    }

    /// `name` for a `{name}` segment, nil for a literal one.
    static func parameterName(_ segment: Substring) -> String? {
        guard segment.count > 2, segment.hasPrefix("{"), segment.hasSuffix("}") else { return nil }
        return String(segment.dropFirst().dropLast())
    }
}
