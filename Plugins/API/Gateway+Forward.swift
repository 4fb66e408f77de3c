import HTTPTypes
import Hummingbird
import JameyPluginKit

extension Gateway {
    /// Request headers forwarded to plugins as `http.header.<name>`.
    static let forwardedHeaders: [HTTPField.Name] = [.accept, .acceptLanguage, .userAgent, .xRequestID]

    /// A route declared by a plugin: the HTTP request becomes a bus request to `topic` (headers
    /// `http.method`, `http.path`, `http.query`, `http.param.<name>`, `http.header.<name>`,
    /// `auth.key_id`, `auth.scope`, and `sticky.key` from `X-Canary-Key`, which keeps a caller on
    /// one side of a canary), and the reply becomes the response.
    func forward(_ call: Call, plugin owner: String, topic: String) async throws -> Response {
        let request = call.request
        let body = try await body(of: request)
        var headers: [String: String] = [
            "http.method": request.method == .head ? "GET" : request.method.rawValue,
            "http.path": request.uri.path,
            "http.query": request.uri.query ?? "",
        ]
        for (name, value) in call.parameters { headers["http.param." + name] = value }
        for name in Self.forwardedHeaders {
            if let value = request.headers[name] { headers["http.header." + name.canonicalName] = value }
        }
        headers["http.header.x-request-id"] = call.exchange.requestID
        if let key = request.headers[.xCanaryKey], !key.isEmpty { headers["sticky.key"] = String(key.prefix(128)) }
        if call.endpoint.scope != .public, let id = call.exchange.caller.keyID {
            headers["auth.key_id"] = id
            headers["auth.scope"] = call.exchange.caller.scope.name
        }
        let message = Outgoing(Array(buffer: body), contentType: request.headers[.contentType], headers: headers)
        return try await busRequest(topic, message, timeoutMs: settings.limits.requestTimeoutMs, who: "plugin '\(owner)'")
    }
}
