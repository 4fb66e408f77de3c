import APICore
import HTTPTypes
import Hummingbird

/// An error the gateway answers with, as RFC 9457 problem details (`application/problem+json`):
/// `type`, `title`, `status` and `detail`. Details are sentences for the caller; they never carry
/// stack traces, keys or other secrets.
struct Problem: Error, Sendable {
    /// The HTTP status.
    let status: HTTPResponse.Status
    /// A short kebab-case name of the problem kind; the `type` member is `urn:jamey:problem:<slug>`.
    let slug: String
    /// One sentence for the caller.
    let detail: String
    /// Extra response headers (`Allow`, `Retry-After`, `WWW-Authenticate`, ...).
    var headers: HTTPFields = [:]

    /// The `type` URI.
    var type: String { "urn:jamey:problem:" + slug }

    /// The problem as a response.
    func response() -> Response {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        let body = JSON.object([
            ("type", .string(type)),
            ("title", .string(status.reasonPhrase)),
            ("status", .int(Int64(status.code))),
            ("detail", .string(detail)),
        ]).text
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension Problem {
    /// 400: the request is malformed.
    static func badRequest(_ detail: String) -> Problem { Problem(status: .badRequest, slug: "bad-request", detail: detail) }

    /// 401: no key, an unknown key, or an expired or revoked key.
    static func unauthorized(_ detail: String) -> Problem {
        Problem(
            status: .unauthorized, slug: "unauthorized", detail: detail, headers: [.wwwAuthenticate: #"Bearer realm="jamey""#])
    }

    /// 403: the key's scope is too weak for the route.
    static func forbidden(required: Scope, held: Scope) -> Problem {
        Problem(
            status: .forbidden, slug: "insufficient-scope",
            detail: "this route requires a key with scope '\(required)'; the key presented has scope '\(held)'")
    }

    /// 404: nothing is served at this path, or the named resource does not exist.
    static func notFound(_ detail: String) -> Problem { Problem(status: .notFound, slug: "not-found", detail: detail) }

    /// 405: the path exists but not with this method.
    static func methodNotAllowed(_ method: String, allowed: [String]) -> Problem {
        Problem(
            status: .methodNotAllowed, slug: "method-not-allowed",
            detail: "\(method) is not allowed here; allowed: \(allowed.joined(separator: ", "))",
            headers: [.allow: allowed.joined(separator: ", ")])
    }

    /// 413: the body is larger than the configured limit.
    static func tooLarge(limit: Int) -> Problem {
        Problem(
            status: .contentTooLarge, slug: "body-too-large",
            detail: "the request body is larger than the limit of \(limit) bytes", headers: [.connection: "close"])
    }

    /// 415: the body's media type is not accepted.
    static func unsupportedMediaType(_ found: String?, expected: String) -> Problem {
        Problem(
            status: .unsupportedMediaType, slug: "unsupported-media-type",
            detail: "expected a body of type \(expected), found \(found.map { "'\($0)'" } ?? "no Content-Type")")
    }

    /// 500: the gateway failed; the detail names what, never why in internal terms.
    static func internalError(_ detail: String) -> Problem {
        Problem(status: .internalServerError, slug: "internal-error", detail: detail)
    }

    /// 502: a plugin's reply could not be turned into an HTTP response.
    static func badGateway(_ detail: String) -> Problem { Problem(status: .badGateway, slug: "bad-reply", detail: detail) }

    /// 503: nothing answers on the bus, or the gateway is not ready.
    static func unavailable(_ detail: String, slug: String = "unavailable") -> Problem {
        Problem(status: .serviceUnavailable, slug: slug, detail: detail)
    }

    /// 504: the bus request timed out.
    static func timeout(_ detail: String) -> Problem { Problem(status: .gatewayTimeout, slug: "timeout", detail: detail) }
}
