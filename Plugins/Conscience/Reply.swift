import ConscienceCore
import Foundation
import JameyPluginKit

/// Replies in the shape the api plugin maps to HTTP: header `status`, JSON bodies, and errors as
/// problem+json (RFC 9457) with `type` `urn:jamey:problem:<slug>`.
enum Reply {
    /// A JSON reply with `status` (200 unless given).
    static func json(_ value: some Encodable, status: Int = 200) -> Outgoing {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else {
            return problem(status: 500, slug: "encoding", detail: "the reply could not be encoded as JSON")
        }
        return Outgoing(Array(data), contentType: "application/json", headers: ["status": String(status)])
    }

    /// An empty reply (204 No Content).
    static var noContent: Outgoing { Outgoing([], headers: ["status": "204"]) }

    /// A problem+json reply.
    static func problem(status: Int, slug: String, detail: String) -> Outgoing {
        let body: [String: Any] = [
            "type": "urn:jamey:problem:" + slug, "title": title(status), "status": status, "detail": detail,
        ]
        let data =
            (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Outgoing(Array(data), contentType: "application/problem+json", headers: ["status": String(status)])
    }

    /// The problem for an engine error: 400 invalid, 404 not found, 409 exists.
    static func problem(_ error: ConscienceError) -> Outgoing {
        switch error.code {
        case .notFound: problem(status: 404, slug: "not-found", detail: error.description)
        case .exists: problem(status: 409, slug: "conflict", detail: error.description)
        default: problem(status: 400, slug: "bad-request", detail: error.description)
        }
    }

    /// The reason phrase of the statuses used here.
    static func title(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 404: "Not Found"
        case 409: "Conflict"
        default: "Internal Server Error"
        }
    }
}
