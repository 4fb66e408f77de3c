import Foundation
import HTTPTypes
import Hummingbird
import JameyPluginKit
import NIOCore

extension Gateway {
    /// Sends a bus request for an HTTP request and maps the reply to a response (see
    /// ``response(for:topic:)``); bus failures become 503 or 504.
    func busRequest(_ topic: String, _ message: Outgoing, timeoutMs: Int, who: String) async throws -> Response {
        let reply: Message
        do {
            reply = try await plugin.bus.request(topic, message, timeout: .milliseconds(timeoutMs))
        } catch {
            throw Self.problem(for: error, topic: topic, who: who, timeoutMs: timeoutMs)
        }
        return try Self.response(for: reply, who: who)
    }

    /// The problem for a failed bus request.
    static func problem(for failure: JameyError, topic: String, who: String, timeoutMs: Int) -> Problem {
        switch failure.code {
        case .timeout: return .timeout("\(who) did not answer within \(timeoutMs) ms")
        case .noResponders:
            return .unavailable("nothing answers on topic '\(topic)' (is \(who) started?)", slug: "no-responder")
        case .plugin:
            return Problem(
                status: .badGateway, slug: "handler-failed",
                detail: "\(who) failed without answering (its handler for '\(topic)' returned an error)")
        default: break
        }
        var problem = Problem.unavailable("\(failure)", slug: "bus-unavailable")
        problem.headers[.retryAfter] = "1"
        return problem
    }

    /// The statuses HTTPTypes names, by code.
    static let knownStatuses: [Int: HTTPResponse.Status] = Dictionary(
        uniqueKeysWithValues: [
            HTTPResponse.Status.ok, .created, .accepted, .nonAuthoritativeInformation, .noContent, .resetContent,
            .partialContent, .multipleChoices, .movedPermanently, .found, .seeOther, .notModified, .temporaryRedirect,
            .permanentRedirect, .badRequest, .unauthorized, .forbidden, .notFound, .methodNotAllowed, .notAcceptable,
            .proxyAuthenticationRequired, .requestTimeout, .conflict, .gone, .lengthRequired, .preconditionFailed,
            .contentTooLarge, .uriTooLong, .unsupportedMediaType, .rangeNotSatisfiable, .expectationFailed,
            .misdirectedRequest, .unprocessableContent, .tooEarly, .upgradeRequired, .preconditionRequired,
            .tooManyRequests, .requestHeaderFieldsTooLarge, .unavailableForLegalReasons, .internalServerError,
            .notImplemented, .badGateway, .serviceUnavailable, .gatewayTimeout, .httpVersionNotSupported,
            .networkAuthenticationRequired,
        ].map { ($0.code, $0) })

    /// The status `code` (200-599) with its reason phrase: HTTPTypes' for the codes it names, its
    /// class's for others (RFC 9110 §15: an unknown code is understood as its class). A status
    /// made from a bare code has an empty phrase, which became the problem's empty `title`.
    static func status(code: Int) -> HTTPResponse.Status {
        if let known = knownStatuses[code] { return known }
        let phrase =
            switch code / 100 {
            case 2: "Success"
            case 3: "Redirection"
            case 4: "Client Error"
            default: "Server Error"
            }
        return HTTPResponse.Status(code: code, reasonPhrase: phrase)
    }

    /// Maps a reply to a response: header `status` (default 200) is the HTTP status,
    /// `http.header.<name>` headers are response headers (hop-by-hop and framing headers are
    /// dropped), the payload is the body and the content type its `Content-Type`. An error
    /// status with an empty or plain-text body becomes problem+json with that text as detail.
    /// - Throws: 502 when `status` is not an integer from 200 to 599.
    static func response(for reply: Message, who: String) throws -> Response {
        var status = HTTPResponse.Status.ok
        if let text = reply.headers["status"] {
            guard let code = Int(text.trimmingCharacters(in: .whitespaces)), (200...599).contains(code) else {
                throw Problem.badGateway("\(who) answered with an invalid status '\(printable(String(text.prefix(40))))'")
            }
            status = Self.status(code: code)
        }
        var headers = HTTPFields()
        for (key, value) in reply.headers where key.hasPrefix("http.header.") {
            let name = String(key.dropFirst("http.header.".count)).lowercased()
            guard !hopByHop.contains(name), !gatewayOwned.contains(name), let field = HTTPField.Name(name) else { continue }
            headers.append(HTTPField(name: field, value: value))
        }
        let type = reply.contentType
        if status.code >= 400 && (reply.payload.isEmpty || type?.lowercased().hasPrefix("text/plain") == true) {
            var text = String(decoding: reply.payload, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { text = "\(who) answered \(status.code) \(status.reasonPhrase)" }
            if text.count > 1000 { text = String(text.prefix(1000)) + "…" }
            return Problem(status: status, slug: "plugin-error", detail: text, headers: headers).response()
        }
        if !reply.payload.isEmpty || type != nil {
            headers[.contentType] = type ?? "application/octet-stream"
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.payload)))
    }

    /// Response headers the gateway sets on every response; a plugin's are dropped.
    static let gatewayOwned: Set<String> = [
        "x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy", "strict-transport-security",
        "x-request-id", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "access-control-allow-origin",
        "access-control-allow-credentials", "access-control-expose-headers",
    ]

    /// Response headers a plugin may not set.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length", "content-type",
        "proxy-authenticate", "proxy-authorization",
    ]
}
