import APICore
import HTTPTypes
import Hummingbird
import JameyPluginKit
import NIOCore

extension Gateway {
    /// `POST /v1/bus/publish/{topic}`: publishes the body (with its Content-Type) as an event;
    /// 202 with the topic.
    func publish(_ call: Call) async throws -> Response {
        let topic = try authorised(call, Self.topic(call.parameter("topic")))
        let message = try await outgoing(call)
        do {
            try plugin.bus.publish(topic, message)
        } catch {
            throw error.code == .invalid
                ? Problem.badRequest("the bus refused topic '\(topic)'")
                : Problem.unavailable("\(error)", slug: "bus-unavailable")
        }
        return Self.json(.accepted, JSON.object([("topic", .string(topic))]).text)
    }

    /// `POST /v1/bus/request/{topic}[?timeout_ms=N]`: sends the body as a bus request and returns
    /// the reply's body and content type (status and headers mapped as for plugin routes); 504
    /// on timeout, 404 when nothing answers on the topic.
    func request(_ call: Call) async throws -> Response {
        let topic = try authorised(call, Self.topic(call.parameter("topic")))
        var timeout = settings.limits.requestTimeoutMs
        if let text = call.request.uri.queryParameters["timeout_ms"] {
            guard let ms = Int(text), (100...600_000).contains(ms) else {
                throw Problem.badRequest("timeout_ms must be an integer from 100 to 600000")
            }
            timeout = ms
        }
        let message = try await outgoing(call)
        // A caller may wait up to 10 minutes per request: without a bound, the rate limit alone
        // let one key hold about 12 000 at once (20 a second for 600 s).
        let caller =
            call.exchange.caller.keyID.map { "key " + $0 } ?? "client " + RateLimiter.clientIdentity(call.exchange.client)
        let cap = settings.limits.maxBusRequestsPerCaller
        let admitted = busRequestsInFlight.withLock { table -> Bool in
            guard cap == 0 || table[caller, default: 0] < cap else { return false }
            table[caller, default: 0] += 1
            return true
        }
        guard admitted else {
            throw Problem(
                status: .tooManyRequests, slug: "too-many-requests-in-flight",
                detail:
                    "this caller has \(cap) bus requests waiting for replies (limits.max_bus_requests_per_caller); wait for one first",
                headers: [.retryAfter: "1"])
        }
        defer {
            busRequestsInFlight.withLock { table in
                let left = table[caller, default: 1] - 1
                table[caller] = left > 0 ? left : nil
            }
        }
        do {
            return try await busRequest(topic, message, timeoutMs: timeout, who: "the responder on '\(topic)'")
        } catch let problem as Problem where problem.slug == "no-responder" {
            // A topic nothing answers is, to an HTTP client, a resource that does not exist.
            throw Problem(status: .notFound, slug: "no-responder", detail: "nothing answers requests on topic '\(topic)'")
        }
    }

    /// `GET /v1/bus/subscribe?topic=PATTERN`: a Server-Sent Events stream of the matching events.
    func subscribe(_ call: Call) throws -> Response {
        guard let pattern = call.request.uri.queryParameters["topic"].map(String.init), !pattern.isEmpty else {
            throw Problem.badRequest(
                "the query parameter 'topic' (a topic pattern such as sensors.*.temp or sensors.>) is required")
        }
        guard RouteTable.isPattern(pattern) else {
            throw Problem.badRequest(
                "'\(Self.printable(pattern))' is not a topic pattern (dotted segments; * for one segment, a final > for the rest)"
            )
        }
        let headers: HTTPFields = [
            .contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        // HEAD gets the head only: no subscription that nothing would ever read.
        guard call.request.method != .head else { return Response(status: .ok, headers: headers) }
        let caller = call.exchange.caller.keyID.map { "key " + $0 } ?? "client " + call.exchange.client
        let scope = call.exchange.caller.scope
        return Response(
            status: .ok, headers: headers,
            body: try streams.open(
                pattern: pattern, bus: plugin.bus, caller: caller,
                sees: { [weak self] topic in self.map { scope >= $0.routes.eventScope(for: topic) } ?? false },
                admin: scope >= .admin, closed: PeerGoneHandler.gone(on: call.connection)))
    }

    /// `topic`, when the caller's scope reaches it (``RouteTable/busScope(for:)``); else 403.
    private func authorised(_ call: Call, _ topic: String) throws(Problem) -> String {
        let required = routes.busScope(for: topic)
        guard call.exchange.caller.scope >= required else {
            throw Problem.forbidden(required: required, held: call.exchange.caller.scope)
        }
        return topic
    }

    /// A concrete topic from the path, or 400.
    static func topic(_ text: String) throws(Problem) -> String {
        guard RouteTable.isTopic(text) else {
            throw Problem.badRequest(
                "'\(printable(text))' is not a bus topic (dotted non-empty segments, no wildcards or spaces)")
        }
        return text
    }

    /// The request body as a bus message, with the caller's key id and scope as headers (and
    /// `sticky.key` from `X-Canary-Key`).
    private func outgoing(_ call: Call) async throws -> Outgoing {
        let body = try await body(of: call.request)
        var headers: [String: String] = [:]
        if let id = call.exchange.caller.keyID {
            headers["auth.key_id"] = id
            headers["auth.scope"] = call.exchange.caller.scope.name
        }
        if let key = call.request.headers[.xCanaryKey], !key.isEmpty { headers["sticky.key"] = String(key.prefix(128)) }
        return Outgoing(Array(buffer: body), contentType: call.request.headers[.contentType], headers: headers)
    }
}
