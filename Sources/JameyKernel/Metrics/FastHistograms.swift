import CJameySystem
import CoreMetrics
import Prometheus
import Synchronization

/// The histograms of one timer metric recorded without a lock, one per label set, rendered into
/// the kernel's exposition beside the registry's (``KernelMetrics/exposition()``).
///
/// The bus records `jamey_bus_handler_duration_seconds` once per delivered message. Through
/// swift-prometheus's histogram that is a lock and a `Duration` comparison against every bucket
/// bound, about 600 instructions: 13 % of a message's whole cost across the ABI
/// (`scripts/bench-gates.sh`, `publish_swift_to_c`). Here a record is a scan of integer bounds
/// and three relaxed atomic additions (`jamey_histogram.h`); the text is the same format.
final class FastHistograms: Sendable {
    /// The metric name.
    let name: String
    /// The `# HELP` text.
    let help: String
    /// The bucket bounds, ascending.
    let bounds: [Duration]
    private let histograms = Mutex<[(labels: String, histogram: FastHistogram)]>([])

    init(name: String, help: String, bounds: [Duration]) {
        precondition(bounds.count <= Int(JAMEY_HISTOGRAM_MAX_BOUNDS), "at most \(JAMEY_HISTOGRAM_MAX_BOUNDS) bounds")
        self.name = name
        self.help = help
        self.bounds = bounds
    }

    /// The histogram of `dimensions`: the existing one for the same labels, or a new one.
    func histogram(dimensions: [(String, String)]) -> FastHistogram {
        let labels = dimensions.map { "\($0.0)=\"\(Self.escaped($0.1))\"" }.joined(separator: ",")
        return histograms.withLock { table in
            if let found = table.first(where: { $0.labels == labels }) { return found.histogram }
            let made = FastHistogram(bounds: bounds)
            table.append((labels, made))
            return made
        }
    }

    /// Appends the family (`# HELP` and `# TYPE` lines, then buckets, sum and count per label set) in the
    /// text format swift-prometheus writes; nothing while no label set was made.
    func render(into text: inout String) {
        let table = histograms.withLock { $0 }
        guard !table.isEmpty else { return }
        let les = bounds.map { Self.seconds(nanoseconds: $0.wholeNanoseconds) }
        text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (labels, histogram) in table {
            let prefix = labels.isEmpty ? "" : labels + ","
            let suffix = labels.isEmpty ? " " : "{\(labels)} "
            var cumulative: UInt64 = 0
            for (index, le) in les.enumerated() {
                cumulative += histogram.bucket(index)
                text += "\(name)_bucket{\(prefix)le=\"\(le)\"} \(cumulative)\n"
            }
            let count = histogram.count
            text += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(count)\n"
            text += "\(name)_sum\(suffix)\(Self.seconds(nanoseconds: Int64(clamping: histogram.sumNanoseconds)))\n"
            text += "\(name)_count\(suffix)\(count)\n"
        }
    }

    /// Seconds as a decimal without exponent or trailing zeros beyond one (`0.000001`, `5.0`).
    static func seconds(nanoseconds: Int64) -> String {
        let whole = nanoseconds / 1_000_000_000
        var fraction = String(nanoseconds % 1_000_000_000)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.count > 1 && fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }

    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// One label set's histogram (`jamey_histogram.h`), a swift-metrics timer handler.
final class FastHistogram: TimerHandler, Sendable {
    // Sendable: the C histogram is written only through its atomic operations.
    private nonisolated(unsafe) let storage: OpaquePointer

    init(bounds: [Duration]) {
        let nanoseconds = bounds.map(\.wholeNanoseconds)
        guard let made = jamey_histogram_create(nanoseconds, UInt32(nanoseconds.count)) else {
            fatalError("cannot allocate a histogram of \(bounds.count) bounds")
        }
        storage = made
    }

    deinit { jamey_histogram_destroy(storage) }

    @inline(__always)
    func recordNanoseconds(_ duration: Int64) { jamey_histogram_record(storage, duration) }

    /// Records several durations at once (one atomic add per bucket touched).
    @inline(__always)
    func recordNanoseconds(_ durations: UnsafeBufferPointer<Int64>) {
        guard let base = durations.baseAddress else { return }
        jamey_histogram_record_many(storage, base, UInt32(truncatingIfNeeded: durations.count))
    }

    /// Values recorded in bucket `index` (not cumulative; `bounds.count` is the +Inf bucket).
    func bucket(_ index: Int) -> UInt64 { jamey_histogram_bucket(storage, UInt32(index)) }
    /// Values recorded.
    var count: UInt64 { jamey_histogram_count(storage) }
    /// Their sum in nanoseconds.
    var sumNanoseconds: UInt64 { jamey_histogram_sum(storage) }
}

/// The kernel's swift-metrics factory: swift-prometheus's, except for the timers named in
/// `fast`, which are ``FastHistograms``, and the counters named in `fastCounters`, which are
/// ``FastCounters``.
public struct KernelMetricsFactory: MetricsFactory {
    let prometheus: PrometheusMetricsFactory
    let fast: [String: FastHistograms]
    let fastCounters: [String: FastCounters]

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        if let family = fastCounters[label] { return family.counter(dimensions: dimensions) }
        return prometheus.makeCounter(label: label, dimensions: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        prometheus.makeFloatingPointCounter(label: label, dimensions: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        prometheus.makeMeter(label: label, dimensions: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        prometheus.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        if let family = fast[label] { return family.histogram(dimensions: dimensions) }
        return prometheus.makeTimer(label: label, dimensions: dimensions)
    }

    public func destroyCounter(_ handler: any CounterHandler) { prometheus.destroyCounter(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        prometheus.destroyFloatingPointCounter(handler)
    }
    public func destroyMeter(_ handler: any MeterHandler) { prometheus.destroyMeter(handler) }
    public func destroyRecorder(_ handler: any RecorderHandler) { prometheus.destroyRecorder(handler) }
    public func destroyTimer(_ handler: any TimerHandler) {
        // A fast histogram stays for the life of the kernel, as the registry's metrics do.
        if handler is FastHistogram { return }
        prometheus.destroyTimer(handler)
    }
}
