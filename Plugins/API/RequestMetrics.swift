import APICore
import CoreMetrics
import JameyPluginKit
import Synchronization

/// The gateway's own metrics, recorded into the kernel's registry (every series also carries
/// `plugin="api"`):
///
/// - `api_http_requests_total{route,method,status}`: requests answered, by route template.
/// - `api_http_request_duration_seconds{route,method,status}`: time to the response head.
/// - `api_http_throttled_total{scope}`: requests refused with 429.
/// - `api_sse_streams`: open event streams.
/// - `api_http_connections`: open connections.
/// - `api_http_connections_evicted_total`: idle connections closed to make room near the total cap.
/// - `api_http_connections_refused_total`: connections closed at once because their client held
///   `limits.max_connections_per_client` already.
/// - `api_http_malformed_requests_total{reason}`: requests the HTTP decoder could not parse
///   (answered 400, the connection closed), by the parser's reason.
/// - `api_http_timeouts_total{phase}`: connections closed because a request head (`head`), a
///   request body (`body`) or the client's reading of a response (`write`) stalled past its limit.
///
/// Handlers are created once per label set and cached. Thread-safe.
final class RequestMetrics: Sendable {
    private struct Series: Sendable {
        let count: any CounterHandler
        let duration: any RecorderHandler
    }

    private let factory: any MetricsFactory
    private struct Key: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private let series = Mutex<[Key: Series]>([:])
    private let throttled = Mutex<[String: any CounterHandler]>([:])
    private let streams: any MeterHandler
    private let connections: any MeterHandler
    private let refused: any CounterHandler
    private let evicted: any CounterHandler
    private let timeouts: [String: any CounterHandler]
    private let malformed = Mutex<[String: any CounterHandler]>([:])

    /// - Parameter factory: the kit's factory that records into the kernel.
    init(factory: any MetricsFactory) {
        self.factory = factory
        streams = factory.makeMeter(label: "api_sse_streams", dimensions: [])
        connections = factory.makeMeter(label: "api_http_connections", dimensions: [])
        refused = factory.makeCounter(label: "api_http_connections_refused_total", dimensions: [])
        evicted = factory.makeCounter(label: "api_http_connections_evicted_total", dimensions: [])
        timeouts = Dictionary(
            uniqueKeysWithValues: ["head", "body", "write"].map {
                ($0, factory.makeCounter(label: "api_http_timeouts_total", dimensions: [("phase", $0)]))
            })
    }

    /// Counts one answered request and its duration.
    /// - Parameters:
    ///   - route: the route template, or `unmatched`.
    ///   - method: the HTTP method (`OTHER` for methods the gateway never serves).
    ///   - status: the response status.
    ///   - seconds: time to the response head.
    func record(route: String, method: String, status: Int, seconds: Double) {
        let key = Key(route: route, method: method, status: status)
        let s = series.withLock { table -> Series in
            if let s = table[key] { return s }
            let dimensions = [("route", route), ("method", method), ("status", String(status))]
            let s = Series(
                count: factory.makeCounter(label: "api_http_requests_total", dimensions: dimensions),
                duration: factory.makeRecorder(
                    label: "api_http_request_duration_seconds", dimensions: dimensions, aggregate: true))
            table[key] = s
            return s
        }
        s.count.increment(by: 1)
        s.duration.record(seconds)
    }

    /// Counts a request refused by the rate limiter.
    func recordThrottled(scope: Scope) {
        Self.count(in: throttled, factory, "api_http_throttled_total", ("scope", scope.name))
    }

    /// Increments the counter `label{dimension}` of `table`, made on its first use (the label
    /// values of each table are few).
    private static func count(
        in table: borrowing Mutex<[String: any CounterHandler]>, _ factory: any MetricsFactory, _ label: String,
        _ dimension: (String, String)
    ) {
        let counter = table.withLock { table -> any CounterHandler in
            if let c = table[dimension.1] { return c }
            let c = factory.makeCounter(label: label, dimensions: [dimension])
            table[dimension.1] = c
            return c
        }
        counter.increment(by: 1)
    }

    /// Adjusts the open-streams gauge.
    func streams(_ delta: Double) { streams.increment(by: delta) }

    /// Adjusts the open-connections gauge.
    func connections(_ delta: Double) { connections.increment(by: delta) }

    /// Counts a connection refused for its client's connection cap.
    func refusedConnection() { refused.increment(by: 1) }

    /// Counts an idle connection closed to make room for a new one near `limits.max_connections`.
    func evictedConnection() { evicted.increment(by: 1) }

    /// Counts a connection closed for a stalled `phase` (`head`, `body`, `write`).
    func timedOut(_ phase: String) { timeouts[phase]?.increment(by: 1) }

    /// Counts a request the decoder could not parse; `reason` is one of the parser's few names.
    func malformed(reason: String) {
        Self.count(in: malformed, factory, "api_http_malformed_requests_total", ("reason", reason))
    }
}

extension RequestMetrics {
    /// `# HELP` text of each metric, for the manifest (`PluginManifest.metricHelp`).
    static let help: [String: String] = [
        "api_http_requests_total": "HTTP requests answered, by route template, method and status",
        "api_http_request_duration_seconds": "Time to the response head, by route template, method and status",
        "api_http_throttled_total": "Requests refused with 429 by the rate limiter, by scope",
        "api_sse_streams": "Open event streams",
        "api_http_connections": "Open HTTP connections",
        "api_http_connections_refused_total":
            "Connections closed at once because their client held limits.max_connections_per_client",
        "api_http_connections_evicted_total":
            "Idle connections (no request being answered) closed to make room for new ones near limits.max_connections",
        "api_http_malformed_requests_total":
            "Requests the HTTP decoder could not parse (answered 400 and the connection closed), by the parser's reason",
        "api_http_timeouts_total":
            "Connections closed because a request head, a request body or the client's reading stalled past its limit, by phase",
    ]
}
