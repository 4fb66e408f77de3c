import CJameyABI
import CoreMetrics
import Prometheus
import Synchronization

/// The kernel's one Prometheus registry, the swift-metrics factory that feeds it, the metrics the
/// kernel records for every plugin without asking, and the table behind the ABI's metric
/// functions.
public final class KernelMetrics: Sendable {
    /// The registry everything is exported from.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory writing into `registry` (used by the bus and by kernel code), and
    /// into ``FastHistograms`` for the bus's per-message handler durations.
    public let factory: KernelMetricsFactory
    /// `jamey_bus_handler_duration_seconds`, recorded per delivered message without a lock.
    let handlerDurations: FastHistograms
    /// The bus's counters (`jamey_bus_messages_out_total`, `..._in_total`, `..._handler_errors_total`,
    /// `..._dropped_total`, `..._request_timeouts_total`), counted without the swift-metrics
    /// indirection and rendered with their help.
    let busCounters: [FastCounters]
    private let table = PluginMetricTable()
    private let families = Mutex([String: Family]())
    private let stateGauges = Mutex([String: Prometheus.Gauge]())
    private let healthGauges = Mutex([String: Prometheus.Gauge]())

    private struct Family {
        let kind: UInt32
        let labelNames: [String]
        let help: String
        let buckets: [Double]
    }

    /// Failure of a plugin's metric registration, as a sentence.
    struct RegistrationError: Error {
        let message: String
    }

    /// Creates a registry with the kernel's own metric families.
    public init() {
        registry = PrometheusCollectorRegistry()
        let buckets: [Duration] = [
            .microseconds(1), .microseconds(5), .microseconds(25), .microseconds(100), .microseconds(500),
            .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500),
            .seconds(1), .seconds(5),
        ]
        var prometheus = PrometheusMetricsFactory(registry: registry)
        prometheus.defaultDurationHistogramBuckets = buckets
        handlerDurations = FastHistograms(
            name: "jamey_bus_handler_duration_seconds", help: "Run time of each bus handler call, by plugin",
            bounds: buckets)
        busCounters = [
            ("jamey_bus_messages_out_total", "Messages a plugin published or sent, by plugin"),
            ("jamey_bus_messages_in_total", "Bus handler calls on a plugin's subscriptions, by plugin"),
            ("jamey_bus_handler_errors_total", "Bus handler calls that returned an error, by plugin"),
            ("jamey_bus_dropped_total", "Messages dropped because a subscription's queue was full, by plugin"),
            ("jamey_bus_request_timeouts_total", "Requests a plugin sent that got no reply in time, by plugin"),
        ].map { FastCounters(name: $0.0, help: $0.1) }
        factory = KernelMetricsFactory(
            prometheus: prometheus, fast: [handlerDurations.name: handlerDurations],
            fastCounters: Dictionary(uniqueKeysWithValues: busCounters.map { ($0.name, $0) }))
        // Every result's series exists from the start, at 0: an alert on increase() or rate()
        // never fires for a series that appears with its first event.
        for result in ["applied", "unchanged", "invalid", "rolled_back"] { reloadCounter(result: result) }
    }

    /// The Prometheus text exposition (format 0.0.4) of everything registered.
    public func exposition() -> String {
        var text = registry.emitToString()
        handlerDurations.render(into: &text)
        for family in busCounters { family.render(into: &text) }
        text += """
            # HELP jamey_log_lines_dropped_total Log lines dropped because the reader of standard error stopped reading
            # TYPE jamey_log_lines_dropped_total counter
            jamey_log_lines_dropped_total \(LogSink.standardError.droppedLines)

            """
        return text
    }

    // MARK: Kernel-recorded metrics

    static let hookBuckets: [Duration] = [
        .microseconds(10), .microseconds(100), .milliseconds(1), .milliseconds(10), .milliseconds(100),
        .seconds(1), .seconds(10),
    ]

    /// Records how long a plugin hook took.
    func recordHook(plugin: String, hook: String, duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: .init(
                metricName: "jamey_plugin_hook_duration_seconds", unitName: "", helpText: "Duration of plugin lifecycle hooks"),
            labels: [("plugin", plugin), ("hook", hook)], buckets: Self.hookBuckets
        ).record(duration)
    }

    /// Counts a config reload: `jamey_config_reloads_total{result}`, result `applied`,
    /// `unchanged`, `invalid` or `rolled_back`.
    func recordReload(result: String) { reloadCounter(result: result).increment() }

    @discardableResult
    private func reloadCounter(result: String) -> Prometheus.Counter {
        registry.makeCounter(
            descriptor: .init(
                metricName: "jamey_config_reloads_total", unitName: "",
                helpText: "Config reloads by result: applied, unchanged, invalid (nothing changed), rolled_back"),
            labels: [("result", result)])
    }

    /// Sets `jamey_canary_weight{plugin}`: the canary's share in percent (0 when none runs).
    func recordCanaryWeight(plugin: String, weight: Int) {
        registry.makeGauge(
            descriptor: .init(
                metricName: "jamey_canary_weight", unitName: "",
                helpText: "Share of a plugin's traffic its canary takes, in percent (0: no canary)"),
            labels: [("plugin", plugin)]
        ).set(Double(weight))
    }

    /// Counts a canary rolled back: `jamey_canary_rollbacks_total{plugin, trigger}`, trigger
    /// `automatic` or `operator`.
    func recordCanaryRollback(plugin: String, automatic: Bool) {
        registry.makeCounter(
            descriptor: .init(
                metricName: "jamey_canary_rollbacks_total", unitName: "",
                helpText: "Canaries rolled back, by trigger: automatic (the policy's margins) or operator"),
            labels: [("plugin", plugin), ("trigger", automatic ? "automatic" : "operator")]
        ).increment()
    }

    /// Sets `jamey_plugin_state{plugin, state}` to 1 for `state` and 0 for the others.
    func recordState(plugin: String, state: PluginState) {
        setOneHot(
            stateGauges, "jamey_plugin_state", help: "1 for the plugin's current lifecycle state", plugin: plugin,
            label: "state", values: PluginState.allCases.map(\.rawValue), current: state.rawValue)
    }

    /// Sets `jamey_plugin_health{plugin, status}` to 1 for `status` (`ok`, `degraded`,
    /// `unhealthy`) and 0 for the others; all 0 when nil (not started, or not answered yet).
    func recordHealth(plugin: String, status: String?) {
        setOneHot(
            healthGauges, "jamey_plugin_health",
            help: "1 for the health a started plugin last reported (ok, degraded, unhealthy)", plugin: plugin,
            label: "status", values: ["ok", "degraded", "unhealthy"], current: status)
    }

    /// A family with one series per value of `label` for each plugin: 1 for `current`, 0 for
    /// the others. The gauges are made once each and kept in `gauges`.
    private func setOneHot(
        _ gauges: borrowing Mutex<[String: Prometheus.Gauge]>, _ name: String, help: String, plugin: String, label: String,
        values: [String], current: String?
    ) {
        for value in values {
            let gauge = gauges.withLock { gauges in
                let key = plugin + "\u{0}" + value
                if let g = gauges[key] { return g }
                let g = registry.makeGauge(
                    descriptor: .init(metricName: name, unitName: "", helpText: help),
                    labels: [("plugin", plugin), (label, value)])
                gauges[key] = g
                return g
            }
            gauge.set(to: value == current ? 1 : 0)
        }
    }

    /// Publishes `jamey_plugin_info{plugin, version, abi} 1`.
    func recordInfo(plugin: String, version: String, abi: String) {
        registry.makeGauge(
            descriptor: .init(
                metricName: "jamey_plugin_info", unitName: "", helpText: "Static information about each loaded plugin"),
            labels: [("plugin", plugin), ("version", version), ("abi", abi)]
        ).set(to: 1)
    }

    // MARK: ABI metric functions

    /// Registers a plugin's metric series, refusing anything that would make the Prometheus
    /// registry trap (kind, help, label-name or bucket mismatch with an existing family).
    func register(owner: String, desc: UnsafePointer<jamey_metric_desc>) -> Result<jamey_metric_id, RegistrationError> {
        let d = desc.pointee
        guard d.struct_size >= UInt32(MemoryLayout<jamey_metric_desc>.size) else {
            return .failure(RegistrationError(message: "jamey_metric_desc too small"))
        }
        guard let cName = d.name else { return .failure(RegistrationError(message: "metric has no name")) }
        let name = String(cString: cName)
        guard Self.isValidName(name) else {
            return .failure(RegistrationError(message: "metric name '\(name)' is not a valid Prometheus name"))
        }
        guard !name.hasPrefix("jamey_") else {
            return .failure(RegistrationError(message: "metric name '\(name)': the jamey_ prefix is reserved for the kernel"))
        }
        var labels: [(String, String)] = [("plugin", owner)]
        for i in 0..<d.label_count {
            guard let list = d.labels, let k = list[i].key, let v = list[i].value else {
                return .failure(RegistrationError(message: "metric '\(name)' label \(i) is NULL"))
            }
            let key = String(cString: k)
            guard Self.isValidName(key), !key.contains(":"), key != "plugin" else {
                return .failure(RegistrationError(message: "metric '\(name)' label name '\(key)' is invalid or reserved"))
            }
            labels.append((key, String(cString: v)))
        }
        let help = d.help.map { String(cString: $0) } ?? ""
        var buckets: [Double] = []
        if d.kind == JAMEY_METRIC_HISTOGRAM.rawValue {
            if let b = d.buckets, d.bucket_count > 0 {
                buckets = Array(UnsafeBufferPointer(start: b, count: d.bucket_count))
                guard zip(buckets, buckets.dropFirst()).allSatisfy({ $0 < $1 }), buckets.allSatisfy(\.isFinite) else {
                    return .failure(RegistrationError(message: "metric '\(name)' buckets must be finite and ascending"))
                }
            } else {
                buckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]
            }
        }
        let family = Family(kind: d.kind, labelNames: labels.map(\.0).sorted(), help: help, buckets: buckets)
        // Another help text is no conflict: the first is kept (the registry takes one per
        // family). A deploy or canary of a build whose help differs (or that has none) went on
        // with its series refused, frozen in /metrics until a restart.
        let (conflict, kept): (String?, String) = families.withLock { f in
            if let existing = f[name] {
                if existing.kind != family.kind { return ("already registered as another kind", existing.help) }
                if existing.labelNames != family.labelNames {
                    return ("already registered with other label names", existing.help)
                }
                if existing.buckets != family.buckets { return ("already registered with other buckets", existing.help) }
                return (nil, existing.help)
            }
            f[name] = family
            return (nil, help)
        }
        if let conflict { return .failure(RegistrationError(message: "metric '\(name)' \(conflict)")) }
        let metric: PluginMetric
        switch d.kind {
        case JAMEY_METRIC_COUNTER.rawValue:
            metric = .counter(
                registry.makeCounter(descriptor: .init(metricName: name, unitName: "", helpText: kept), labels: labels))
        case JAMEY_METRIC_GAUGE.rawValue:
            metric = .gauge(registry.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: kept), labels: labels))
        case JAMEY_METRIC_HISTOGRAM.rawValue:
            metric = .histogram(
                registry.makeValueHistogram(
                    descriptor: .init(metricName: name, unitName: "", helpText: kept), labels: labels, buckets: buckets))
        default:
            return .failure(RegistrationError(message: "metric '\(name)' has unknown kind \(d.kind)"))
        }
        let key = name + "{" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
        guard let id = table.insert(key: key, metric) else {
            return .failure(RegistrationError(message: "too many metric series"))
        }
        return .success(id)
    }

    /// Records a value on a registered series.
    func record(id: jamey_metric_id, op: Int32, value: Double) -> Int32 {
        guard let metric = table.metric(id) else { return JAMEY_E_NOT_FOUND }
        guard value.isFinite else { return JAMEY_E_INVALID }
        switch (metric, op) {
        case (.counter(let c), Int32(JAMEY_METRIC_ADD.rawValue)):
            guard value >= 0 else { return JAMEY_E_INVALID }
            c.increment(by: value)
        case (.gauge(let g), Int32(JAMEY_METRIC_ADD.rawValue)):
            g.increment(by: value)
        case (.gauge(let g), Int32(JAMEY_METRIC_SET.rawValue)):
            g.set(to: value)
        case (.histogram(let h), Int32(JAMEY_METRIC_OBSERVE.rawValue)):
            h.record(value)
        default:
            return JAMEY_E_INVALID
        }
        return JAMEY_OK
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII,
            first.properties.isAlphabetic || first == "_" || first == ":"
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == ":")
        }
    }
}

enum PluginMetric: Sendable {
    case counter(Prometheus.Counter)
    case gauge(Prometheus.Gauge)
    case histogram(Prometheus.ValueHistogram)
}
