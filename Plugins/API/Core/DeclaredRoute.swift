/// An HTTP route a plugin declares (ABI 1.1; documentation since 1.3), as the kernel lists it:
/// served by the gateway and forwarded to the plugin as a bus request on `topic`.
package struct DeclaredRoute: Sendable {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE` (any case).
    package var method: String
    /// The path template (`/v1/hello/{name}`).
    package var path: String
    /// The bus topic the request is forwarded to.
    package var topic: String
    /// The scope a caller needs (`public`, `read`, `write`, `admin`).
    package var scope: String
    /// One line for the OpenAPI document (may be empty).
    package var summary: String
    /// The OpenAPI operationId the plugin chose, or nil to derive one.
    package var operationID: String?
    /// JSON Schema text of the request body, or nil.
    package var requestSchema: String?
    /// JSON Schema text of the successful response body, or nil.
    package var responseSchema: String?
    /// A longer description, or nil.
    package var details: String?
    /// Forwarded under `limits.operation_timeout_ms` (`JAMEY_ROUTE_LONG_RUNNING`).
    package var longRunning: Bool

    /// - Parameters:
    ///   - method: the HTTP method.
    ///   - path: the path template.
    ///   - topic: the bus topic.
    ///   - scope: the scope name.
    ///   - summary: one line, or empty.
    ///   - operationID: the OpenAPI operationId, or nil.
    ///   - requestSchema: JSON Schema text of the request body, or nil.
    ///   - responseSchema: JSON Schema text of the response body, or nil.
    ///   - details: a longer description, or nil.
    ///   - longRunning: forwarded under `limits.operation_timeout_ms`.
    package init(
        method: String, path: String, topic: String, scope: String, summary: String = "", operationID: String? = nil,
        requestSchema: String? = nil, responseSchema: String? = nil, details: String? = nil, longRunning: Bool = false
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
