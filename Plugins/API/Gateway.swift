import APICore
import Foundation
import HTTPTypes
import Hummingbird
import JameyPluginKit
import Logging
import NIOCore
import Synchronization

/// The HTTP gateway: answers every request the server receives. For each one it identifies the
/// caller (API key, else client address), applies the rate limit, finds the route, checks the
/// scope, answers (a core handler, or a bus request to the plugin that declared the route), and
/// adds the security, rate-limit, CORS and request-id headers. Every error becomes problem+json.
/// Each request is counted by route template and status, and logged on one access-log line.
///
/// Thread-safe; `respond` runs concurrently on Hummingbird's tasks.
final class Gateway: HTTPResponder, Sendable {
    typealias Context = GatewayContext

    /// The plugin's handle on the kernel.
    let plugin: PluginContext
    /// The validated config.
    let settings: APIConfiguration
    /// API keys.
    let keys: KeyStore
    /// Token buckets.
    let limiter: RateLimiter
    /// Request metrics.
    let metrics: RequestMetrics
    /// Open event streams.
    let streams: EventStreams
    /// Cross-origin policy.
    let cors: CORSPolicy
    /// Whether the server speaks TLS (adds HSTS).
    let secure: Bool
    private let table: Mutex<RouteTable>
    /// Counts ``install(_:)`` calls, and the `/openapi.json` text of the table installed at a
    /// count: built once per table, not per request (12 ms of CPU each, on a route with no key).
    private let installed = Mutex<(count: UInt64, openAPI: (count: UInt64, text: String)?)>((0, nil))
    /// The last `/v1/plugins` body, with the generation and figures it was rendered from.
    let renderedList = Mutex<(generation: UInt64, figures: [PluginSnapshot.Figures], body: String)?>(nil)
    private let trustedProxies: Set<String>
    private let requestPrefix: String
    private let requestCounter = Atomic<UInt64>(0)
    private let stopping = Atomic<Bool>(false)
    /// `/v1/bus/request` calls in flight per caller (``request(_:)``).
    let busRequestsInFlight = Mutex<[String: Int]>([:])
    /// Access-log lines of requests the rate limiter refused: a refusal costs a client almost
    /// nothing, so each one logged let any client write the log as fast as it could send.
    let throttledLog = Mutex(LogBudget(linesPerSecond: 10))
    /// Access-log lines of health and readiness probes, which the rate limiter lets through.
    let probeLog = Mutex(LogBudget(linesPerSecond: 10))
    /// Access-log lines of requests the decoder could not parse (each costs a client little).
    let malformedLog = Mutex(LogBudget(linesPerSecond: 10))
    /// Fired by ``beginStopping()``: kernel operations in flight answer then (``operation(_:topic:)``).
    let stopSignal = StopSignal()

    /// - Parameters:
    ///   - plugin: the plugin context.
    ///   - settings: the config.
    ///   - keys: the key store.
    init(plugin: PluginContext, settings: APIConfiguration, keys: KeyStore) {
        self.plugin = plugin
        self.settings = settings
        self.keys = keys
        self.limiter = RateLimiter(limits: settings.rateLimits)
        let metrics = RequestMetrics(factory: plugin.metrics)
        self.metrics = metrics
        self.streams = EventStreams(
            limit: settings.limits.maxSseStreams, perCaller: settings.limits.maxSseStreamsPerCaller,
            heartbeat: .milliseconds(settings.limits.sseHeartbeatMs), metrics: metrics)
        self.cors = CORSPolicy(settings.cors)
        self.secure = settings.tls.enabled
        self.table = Mutex(RouteTable(core: Endpoint.core(metricsPublic: settings.metricsPublic), plugins: []))
        // In the form the peer's address is written in, as it is compared with that text.
        self.trustedProxies = Set(settings.trustedProxies.map { APIConfiguration.clientAddress($0) ?? $0 })
        self.requestPrefix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// Whether ``beginStopping()`` was called.
    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Marks the gateway as stopping (`/readyz` answers 503) and ends every event stream.
    func beginStopping() {
        stopping.store(true, ordering: .relaxed)
        streams.closeAll()
        stopSignal.fire()
    }

    /// The routes being served.
    var routes: RouteTable { table.withLock { $0 } }

    /// Replaces the route table.
    func install(_ routes: RouteTable) {
        table.withLock { table in
            table = routes
            installed.withLock { $0.count += 1 }
        }
    }

    /// The `/openapi.json` text of the routes being served, built once per route table.
    func openAPIText() -> String {
        let (count, routes) = table.withLock { table in (installed.withLock { $0.count }, table) }
        if let cached = installed.withLock({ $0.openAPI }), cached.count == count { return cached.text }
        let text = OpenAPIDocument.build(routes: routes, version: API.manifest.version).text
        installed.withLock { state in
            if state.count == count { state.openAPI = (count, text) }
        }
        return text
    }

    func respond(to request: Request, context: GatewayContext) async throws -> Response {
        let start = ContinuousClock.now
        var exchange = Exchange(
            requestID: requestID(request.headers), client: clientAddress(request, context), path: request.uri.path)
        var response: Response
        do {
            response = try await answer(request, context: context, exchange: &exchange)
        } catch let problem as Problem {
            response = problem.response()
            // Refused before its body was read (a 401, 403, 404, 429): a large or unsized body
            // would be read to its end and dropped before the next request on the connection
            // (an unauthenticated client had the gateway read 5.9 GB in 10 s); close instead.
            if !exchange.dispatched, Self.bodyWorthClosingFor(request.headers) { response.headers[.connection] = "close" }
        } catch {
            plugin.logger.error("request \(exchange.requestID) failed: \(error)")
            response = Problem.internalError("the gateway could not answer; quote request id \(exchange.requestID)").response()
        }
        decorate(&response, request: request, exchange: exchange)
        let seconds = Double((ContinuousClock.now - start) / .microseconds(1)) / 1_000_000
        let method = Self.methodLabel(request.method)
        metrics.record(route: exchange.route, method: method, status: response.status.code, seconds: seconds)
        if settings.accessLog { logAccess(method: method, response.status.code, seconds: seconds, exchange) }
        return response
    }

    /// Whether a request's body is chunked (of unknown size) or over 64 KiB: after an early
    /// refusal the connection is closed rather than the body read and dropped.
    static func bodyWorthClosingFor(_ headers: HTTPFields) -> Bool {
        if headers[.transferEncoding] != nil { return true }
        return headers[.contentLength].flatMap { Int($0) }.map { $0 > 65536 } ?? false
    }

    /// Writes a request's access-log line, `GET /v1/x` with the fields `status`, `duration_ms`,
    /// `key`, `client` and `request_id` (members of a JSON line): at warning for a 5xx (what an
    /// operator filtering to warnings must see), info otherwise; the path cut to 200 characters
    /// (a 15 KB path made a 15 KB line). Rate-limited refusals, and health and readiness probes
    /// (never limited), at most ten lines a second each, the next line's `omitted` counting
    /// those left out; a probe's 503 (a node not ready, which it says by design) stays at info.
    private func logAccess(method: String, _ status: Int, seconds: Double, _ exchange: Exchange) {
        var omitted = 0
        let probe = exchange.probe
        if exchange.rate?.allowed == false || probe {
            let admitted =
                probe ? probeLog.withLock { $0.admit(now: .now) } : throttledLog.withLock { $0.admit(now: .now) }
            guard let skipped = admitted else { return }
            omitted = skipped
        }
        var fields = [
            ("status", String(status)), ("duration_ms", Self.milliseconds(seconds)), ("key", exchange.caller.keyID ?? "-"),
            ("client", exchange.client), ("request_id", exchange.requestID),
        ]
        if omitted > 0 { fields.append(("omitted", String(omitted))) }
        plugin.log(status >= 500 && !probe ? .warning : .info, method + " " + Self.printable(exchange.path), fields: fields)
    }

    /// Counts a request the HTTP decoder could not parse (answered 400, its connection closed)
    /// and, with the access log on, logs it as `malformed request` with the fields `status`,
    /// `reason` (the parser's) and `client` (the peer: no header of it was read), at most ten
    /// lines a second, the next line's `omitted` counting those left out.
    func noteMalformed(reason: String, client: String) {
        metrics.malformed(reason: reason)
        guard settings.accessLog, let omitted = malformedLog.withLock({ $0.admit(now: .now) }) else { return }
        var fields = [("status", "400"), ("reason", reason), ("client", client)]
        if omitted > 0 { fields.append(("omitted", String(omitted))) }
        plugin.log(.info, "malformed request", fields: fields)
    }

    /// Identifies, limits, routes, authorises and answers one request.
    private func answer(_ request: Request, context: GatewayContext, exchange: inout Exchange) async throws -> Response {
        var authFailure: Problem?
        switch Self.credential(request.headers) {
        case .none: break
        case .failure(let problem): authFailure = problem
        case .success(let presented):
            switch keys.authenticate(presented, now: Date()) {
            case .success(let caller): exchange.caller = caller
            case .failure(let problem): authFailure = problem
            }
        }
        let method = request.method.rawValue
        let path = exchange.path
        let match = method == "OPTIONS" ? nil : routes.match(method: method, path: path[...])
        if case .found(let endpoint, _)? = match {
            exchange.route = endpoint.path.text
            exchange.probe = endpoint.action == .healthz || endpoint.action == .readyz
        }
        let identity = exchange.caller.keyID ?? RateLimiter.clientIdentity(exchange.client)
        // Health and readiness probes are answered from a cache and never limited: a prober
        // sharing an address with busy clients (or a NAT's) saw "not ready" as 429s.
        if !exchange.probe, let decision = limiter.check(identity: identity, scope: exchange.caller.scope) {
            exchange.rate = decision
            guard decision.allowed else {
                metrics.recordThrottled(scope: exchange.caller.scope)
                throw Problem(
                    status: .tooManyRequests, slug: "rate-limited",
                    detail: "rate limit exceeded (bursts of \(decision.limit)); retry after \(decision.retryAfter) s",
                    headers: [.retryAfter: String(decision.retryAfter)])
            }
        }
        switch match {
        case nil:
            return options(request, path: path)
        case .notFound?:
            throw Problem.notFound("nothing is served at \(Self.printable(path))")
        case .pluginDown(let resting)?:
            try authorize(resting.scope, authFailure, exchange)
            let state = ["loaded", "initialized"].contains(resting.state) ? "starting" : resting.state
            throw Problem(
                status: .serviceUnavailable, slug: "plugin-unavailable",
                detail:
                    "plugin '\(resting.plugin)', which serves \(Self.printable(path)), is not running (\(state)); retry later",
                headers: [.retryAfter: "5"])
        case .badParameter(let segment)?:
            throw Problem.badRequest(
                "the path segment '\(Self.printable(segment))' is not valid: each %XX escape must be two hex digits, "
                    + "the bytes UTF-8, and none of them %00")
        case .wrongMethod(let allowed)?:
            throw Problem.methodNotAllowed(method, allowed: allowed)
        case .found(let endpoint, let parameters)?:
            try authorize(endpoint.scope, authFailure, exchange)
            let call = Call(
                request: request, endpoint: endpoint, parameters: parameters, exchange: exchange,
                connection: context.channel)
            exchange.dispatched = true
            let response = try await dispatch(call)
            return method == "HEAD" ? response.createHeadResponse() : response
        }
    }

    /// Throws unless the caller may use a route of `scope`: the key's own failure, 401 without a
    /// key, 403 with too small a scope.
    private func authorize(_ scope: Scope, _ authFailure: Problem?, _ exchange: Exchange) throws {
        guard scope != .public else { return }
        if let authFailure { throw authFailure }
        guard exchange.caller.keyID != nil else {
            throw Problem.unauthorized("this route requires an API key (Authorization: Bearer KEY or X-API-Key: KEY)")
        }
        guard exchange.caller.scope.allows(scope) else {
            throw Problem.forbidden(required: scope, held: exchange.caller.scope)
        }
    }

    /// Answers `OPTIONS`: a CORS preflight for allowed origins, otherwise the allowed methods.
    private func options(_ request: Request, path: String) -> Response {
        let allowed: [String]
        switch routes.match(method: "OPTIONS", path: path[...]) {
        case .wrongMethod(let methods): allowed = methods
        default: return Problem.notFound("nothing is served at \(Self.printable(path))").response()
        }
        var headers: HTTPFields = [.allow: allowed.joined(separator: ", ")]
        if let origin = request.headers[.origin], request.headers[.accessControlRequestMethod] != nil {
            cors.decoratePreflight(&headers, origin: origin, methods: allowed)
        }
        return Response(status: .noContent, headers: headers)
    }

    /// Adds the headers every response carries. They are appended, not replaced: no handler sets
    /// them, and replies from plugins have them removed (``Gateway/gatewayOwned``).
    private func decorate(_ response: inout Response, request: Request, exchange: Exchange) {
        var fields = Self.securityFields
        fields.reserveCapacity(10)
        fields.append(HTTPField(name: .xRequestID, value: exchange.requestID))
        if response.headers[.cacheControl] == nil { fields.append(Self.noStore) }
        if secure { fields.append(Self.strictTransport) }
        if let rate = exchange.rate {
            fields.append(HTTPField(name: .rateLimitLimit, value: String(rate.limit)))
            fields.append(HTTPField(name: .rateLimitRemaining, value: String(rate.remaining)))
            fields.append(HTTPField(name: .rateLimitReset, value: String(rate.reset)))
        }
        response.headers.append(contentsOf: fields)
        if cors.isEnabled, let origin = request.headers[.origin], request.method != .options {
            cors.decorate(&response.headers, origin: origin)
        }
    }

    /// The headers every response carries, built (and validated) once.
    private static let securityFields = [
        HTTPField(name: .xContentTypeOptions, value: "nosniff"),
        HTTPField(name: .xFrameOptions, value: "DENY"),
        HTTPField(name: .referrerPolicy, value: "no-referrer"),
        HTTPField(name: .contentSecurityPolicy, value: "default-src 'none'; frame-ancestors 'none'"),
    ]
    private static let noStore = HTTPField(name: .cacheControl, value: "no-store")
    private static let strictTransport = HTTPField(name: .strictTransportSecurity, value: "max-age=31536000; includeSubDomains")

    /// The presented API key: `Authorization: Bearer KEY`, else `X-API-Key: KEY`.
    /// - Returns: `.none` without one; a 401 problem for an `Authorization` header of another scheme.
    static func credential(_ headers: HTTPFields) -> Credential {
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                return .failure(Problem.unauthorized("the Authorization header must be 'Bearer KEY'"))
            }
            return .success(parts[1].drop { $0 == " " })
        }
        if let key = headers[.xAPIKey], !key.isEmpty { return .success(key[...]) }
        return .none
    }

    /// What a request presents as its credential.
    enum Credential {
        case none
        case success(Substring)
        case failure(Problem)
    }

    /// The client: the peer, or behind a trusted proxy the last `X-Forwarded-For` address when it
    /// is one (else the proxy).
    private func clientAddress(_ request: Request, _ context: GatewayContext) -> String {
        let peer = context.channel.remoteAddress?.clientAddress ?? "unknown"
        guard !trustedProxies.isEmpty, trustedProxies.contains(peer), let forwarded = request.headers[.xForwardedFor],
            let last = forwarded.split(separator: ",").last
        else { return peer }
        // Only an IP address, in its canonical form: the text became the access log's client
        // and the rate limiter's identity, forged fields and control characters included.
        let client = last.trimmingCharacters(in: .whitespaces)
        guard client.utf8.count <= 64, let ip = Self.ipAddress(client) else { return peer }
        return ip
    }

    /// `text` as an IP address in canonical form, also when a proxy added a port
    /// (`203.0.113.7:4711`, `[2001:db8::1]:4711`); nil when it is not one.
    static func ipAddress(_ text: String) -> String? {
        func parse(_ s: Substring) -> String? { (try? SocketAddress(ipAddress: String(s), port: 0))?.ipAddress }
        if let ip = parse(text[...]) { return ip }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return parse(text[text.index(after: text.startIndex)..<close])
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, parts[1].allSatisfy(\.isNumber) { return parse(parts[0]) }
        return nil
    }

    /// The client's `X-Request-Id` when it is short and printable, else a new one.
    private func requestID(_ headers: HTTPFields) -> String {
        if let given = headers[.xRequestID], !given.isEmpty, given.utf8.count <= 128,
            given.utf8.allSatisfy({ $0 > 32 && $0 < 127 })
        {
            return given
        }
        return requestPrefix + "-" + String(requestCounter.add(1, ordering: .relaxed).newValue)
    }

    /// A path shortened and stripped of control characters, for problem details.
    static func printable(_ path: String) -> String {
        let clean = String(path.unicodeScalars.filter { $0.value >= 32 && $0.value != 127 }.map(Character.init))
        return clean.count > 200 ? String(clean.prefix(200)) + "…" : clean
    }

    /// Seconds as milliseconds with three decimals (`0.412`), without Foundation's formatter.
    static func milliseconds(_ seconds: Double) -> String {
        let micros = Int((seconds * 1_000_000).rounded())
        let fraction = String(micros % 1000)
        return String(micros / 1000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// The method as a metric label (`OTHER` for methods no route uses).
    static func methodLabel(_ method: HTTPRequest.Method) -> String {
        switch method {
        case .get, .head, .post, .put, .patch, .delete, .options: method.rawValue
        default: "OTHER"
        }
    }
}

/// One authorised request on its way to a handler.
struct Call: Sendable {
    /// The request.
    let request: Request
    /// The matched endpoint.
    let endpoint: Endpoint
    /// Path parameters, decoded.
    let parameters: [(String, String)]
    /// Who is calling, and the request id.
    let exchange: Exchange
    /// The connection the request came on (an event stream ends when it closes).
    let connection: any Channel

    /// The path parameter `name`.
    func parameter(_ name: String) -> String {
        parameters.first { $0.0 == name }?.1 ?? ""
    }
}
