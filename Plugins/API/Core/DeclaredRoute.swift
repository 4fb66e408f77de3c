/// An HTTP route a plugin declares (ABI 1.1), as the kernel lists it: served by the gateway and
/// forwarded to the plugin as a bus request on `topic`.
package struct DeclaredRoute: Decodable, Sendable {
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

    /// - Parameters:
    ///   - method: the HTTP method.
    ///   - path: the path template.
    ///   - topic: the bus topic.
    ///   - scope: the scope name.
    ///   - summary: one line, or empty.
    package init(method: String, path: String, topic: String, scope: String, summary: String = "") {
        self.method = method
        self.path = path
        self.topic = topic
        self.scope = scope
        self.summary = summary
    }
}
