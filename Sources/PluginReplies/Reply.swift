import Foundation
import JameyPluginKit

/// Replies in the shape the api plugin maps to HTTP: header `status`, JSON bodies, and errors as
/// problem+json (RFC 9457) with `type` `urn:jamey:problem:<slug>`. Shared by the conscience, soul
/// and consciousness plugins (each links its own static copy).
public enum Reply {
    /// A JSON reply with `status` (200 unless given); keys sorted.
    public static func json(_ value: some Encodable, status: Int = 200) -> Outgoing {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        guard let data = try? encoder.encode(value) else {
            return problem(status: 500, slug: "encoding", detail: "the reply could not be encoded as JSON")
        }
        return Outgoing(Array(data), contentType: "application/json", headers: ["status": String(status)])
    }

    /// An empty reply (204 No Content).
    public static var noContent: Outgoing { Outgoing([], headers: ["status": "204"]) }

    /// A problem+json reply.
    /// - Parameters:
    ///   - status: the HTTP status (400, 404, 429, 500, 503, ...).
    ///   - slug: the problem type's last part (`bad-request`, `not-found`, ...).
    ///   - detail: the sentence saying what is wrong.
    ///   - retryAfter: seconds for a `Retry-After` header (a 503's), or nil for none.
    public static func problem(status: Int, slug: String, detail: String, retryAfter: Int? = nil) -> Outgoing {
        let body: [String: Any] = [
            "type": "urn:jamey:problem:" + slug, "title": title(status), "status": status, "detail": detail,
        ]
        let data =
            (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var headers = ["status": String(status)]
        if let retryAfter { headers["http.header.retry-after"] = String(retryAfter) }
        return Outgoing(Array(data), contentType: "application/problem+json", headers: headers)
    }

    /// A 400 problem.
    public static func badRequest(_ detail: String) -> Outgoing { problem(status: 400, slug: "bad-request", detail: detail) }

    /// The reason phrase of the statuses plugins answer with ("Internal Server Error" for others).
    public static func title(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 404: "Not Found"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 429: "Too Many Requests"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 507: "Insufficient Storage"
        default: "Internal Server Error"
        }
    }

    /// The `status` header of a reply as an integer (200 when absent).
    public static func status(of message: Message) -> Int {
        message.headers["status"].flatMap { Int($0) } ?? 200
    }
}
