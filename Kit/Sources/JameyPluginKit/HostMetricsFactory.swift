import CJameyABI
import CoreMetrics

/// A swift-metrics backend that records into the kernel's Prometheus registry through the ABI.
/// Every series gets the label `plugin="<name>"` from the kernel; names must not start with
/// `jamey_` (reserved). Counters, meters and recorders map to Prometheus counters, gauges and
/// histograms; timers to histograms in seconds.
public struct HostMetricsFactory: MetricsFactory {
    let handle: HostHandle
    /// `# HELP` text by metric name (``PluginManifest/metricHelp``).
    let help: [String: String]
    init(handle: HostHandle, help: [String: String] = [:]) {
        self.handle = handle
        self.help = help
    }

    func register(_ kind: jamey_metric_kind, _ label: String, _ dimensions: [(String, String)], buckets: [Double]? = nil)
        -> jamey_metric_id
    {
        let name = Self.sanitize(label)
        var id: jamey_metric_id = 0
        withCStrings([name] + dimensions.map(\.0) + dimensions.map(\.1) + [help[name] ?? ""]) { strings in
            var kv: [jamey_kv] = []
            for i in 0..<dimensions.count {
                kv.append(jamey_kv(key: strings[1 + i], value: strings[1 + dimensions.count + i]))
            }
            kv.withUnsafeBufferPointer { kvs in
                (buckets ?? []).withUnsafeBufferPointer { b in
                    var d = jamey_metric_desc()
                    d.struct_size = UInt32(MemoryLayout<jamey_metric_desc>.size)
                    d.kind = kind.rawValue
                    d.name = strings[0]
                    d.help = help[name] == nil ? nil : strings[strings.count - 1]
                    d.labels = kvs.baseAddress
                    d.label_count = kvs.count
                    d.buckets = buckets == nil ? nil : b.baseAddress
                    d.bucket_count = buckets?.count ?? 0
                    _ = handle.api.pointee.metric_register(handle.host, &d, &id)
                }
            }
        }
        return id
    }

    /// Turns a swift-metrics label into a Prometheus name (`my.counter` → `my_counter`).
    static func sanitize(_ label: String) -> String {
        let mapped = label.unicodeScalars.map { s -> Character in
            s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "_" || s == ":") ? Character(s) : "_"
        }
        let name = String(mapped)
        return name.first?.isNumber == true ? "_" + name : name
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        HostRecorder(handle: handle, id: register(JAMEY_METRIC_COUNTER, label, dimensions))
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        HostRecorder(handle: handle, id: register(JAMEY_METRIC_COUNTER, label, dimensions))
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        HostRecorder(handle: handle, id: register(JAMEY_METRIC_GAUGE, label, dimensions))
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        HostRecorder(
            handle: handle, id: register(aggregate ? JAMEY_METRIC_HISTOGRAM : JAMEY_METRIC_GAUGE, label, dimensions),
            observe: aggregate)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        HostRecorder(
            handle: handle,
            id: register(JAMEY_METRIC_HISTOGRAM, label, dimensions, buckets: [0.000_01, 0.000_1, 0.001, 0.01, 0.1, 1, 10]),
            observe: true)
    }

    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}
}

/// One registered series; records through `metric_record`.
final class HostRecorder: CounterHandler, FloatingPointCounterHandler, MeterHandler, RecorderHandler, TimerHandler,
    @unchecked Sendable
{
    let handle: HostHandle
    let id: jamey_metric_id
    let observe: Bool

    init(handle: HostHandle, id: jamey_metric_id, observe: Bool = false) {
        self.handle = handle
        self.id = id
        self.observe = observe
    }

    private func send(_ op: jamey_metric_op, _ value: Double) {
        guard id != 0 else { return }
        _ = handle.api.pointee.metric_record(handle.host, id, Int32(op.rawValue), value)
    }

    func increment(by amount: Int64) { send(JAMEY_METRIC_ADD, Double(amount)) }
    func increment(by amount: Double) { send(JAMEY_METRIC_ADD, amount) }
    func decrement(by amount: Double) { send(JAMEY_METRIC_ADD, -amount) }
    func set(_ value: Int64) { send(JAMEY_METRIC_SET, Double(value)) }
    func set(_ value: Double) { send(JAMEY_METRIC_SET, value) }
    func record(_ value: Int64) { send(observe ? JAMEY_METRIC_OBSERVE : JAMEY_METRIC_SET, Double(value)) }
    func record(_ value: Double) { send(observe ? JAMEY_METRIC_OBSERVE : JAMEY_METRIC_SET, value) }
    func recordNanoseconds(_ duration: Int64) { send(JAMEY_METRIC_OBSERVE, Double(duration) / 1e9) }
    func reset() {}
}
