import HTTPTypes
import Hummingbird
import JameyPluginKit
import Synchronization

extension Gateway {
    /// Request headers forwarded to plugins as `http.header.<name>`.
    static let forwardedHeaders: [HTTPField.Name] = [.accept, .acceptLanguage, .userAgent, .xRequestID]

    /// A route declared by a plugin: the HTTP request becomes a bus request to `topic` (headers
    /// `http.method`, `http.path`, `http.query`, `http.param.<name>`, `http.header.<name>`,
    /// `auth.key_id`, `auth.scope`, and `sticky.key` from `X-Canary-Key`, which keeps a caller on
    /// one side of a canary), and the reply becomes the response.
    func forward(_ call: Call, plugin owner: String, topic: String, timeoutMs: Int? = nil) async throws -> Response {
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
        return try await busRequest(
            topic, message, timeoutMs: timeoutMs ?? settings.limits.requestTimeoutMs, who: "plugin '\(owner)'")
    }

    /// A kernel operation (config reload, deploy, canary): forwarded under
    /// `limits.operation_timeout_ms`, since it stops and starts plugins under their own hook
    /// deadlines. When the operation stops this plugin (a reload of its section, a deploy of
    /// it), the stop would wait for in-flight requests, this one among them, which waits for the
    /// operation: so once the gateway begins stopping, this request is answered at once (202,
    /// the operation going on) and the stop proceeds.
    func operation(_ call: Call, topic: String) async throws -> Response {
        guard !isStopping else {
            throw Problem.unavailable(
                "the api plugin is stopping: send the operation again once it has started", slug: "stopping")
        }
        let timeout = settings.limits.operationTimeoutMs
        return try await stopSignal.race {
            try await self.forward(call, plugin: "kernel", topic: topic, timeoutMs: timeout)
        } onStop: {
            Self.json(
                .accepted,
                #"{"status":"continuing","detail":"the operation stops the api plugin, which answers now; it goes on: see GET /v1/plugins and the server log for its outcome"}"#
            )
        }
    }
}

/// Fires once, when the gateway begins stopping; requests that must not hold up the stop race
/// against it.
final class StopSignal: Sendable {
    private struct State {
        var fired = false
        var next: UInt64 = 0
        var waiters: [UInt64: @Sendable () -> Void] = [:]
    }
    private let state = Mutex(State())

    /// Fires: every waiter runs now, and later ones at once.
    func fire() {
        let waiters = state.withLock { s -> [@Sendable () -> Void] in
            guard !s.fired else { return [] }
            s.fired = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter() }
    }

    /// The result of `body`, or of `onStop` when the signal fires first (`body` then goes on
    /// unawaited and its result is dropped). A body that finishes first takes its waiter away.
    func race(
        _ body: @escaping @Sendable () async throws -> Response, onStop: @escaping @Sendable () -> Response
    ) async throws -> Response {
        let once = Mutex<CheckedContinuation<Response, any Error>?>(nil)
        let id = state.withLock { s -> UInt64 in
            s.next += 1
            return s.next
        }
        return try await withCheckedThrowingContinuation { continuation in
            once.withLock { $0 = continuation }
            let resume: @Sendable (Result<Response, any Error>) -> Void = { result in
                once.withLock { c in
                    defer { c = nil }
                    return c
                }?.resume(with: result)
            }
            // The waiter first: a body that finishes at once then finds it to take away.
            let fired = state.withLock { s -> Bool in
                if !s.fired { s.waiters[id] = { resume(.success(onStop())) } }
                return s.fired
            }
            Task {
                let result: Result<Response, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                _ = self.state.withLock { $0.waiters.removeValue(forKey: id) }
                resume(result)
            }
            if fired { resume(.success(onStop())) }
        }
    }
}
