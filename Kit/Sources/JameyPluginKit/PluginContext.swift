import CJameyABI
import CoreMetrics
import Logging
import Synchronization

/// A plugin's handle on the host: bus, services, logging, metrics, its data directory and the
/// node's identity. Thread-safe; keep it for the plugin's lifetime.
public final class PluginContext: Sendable {
    let handle: HostHandle
    /// The plugin's name.
    public let name: String
    /// A logger whose output goes to the kernel's log, attributed to this plugin.
    public let logger: Logger
    /// The message bus.
    public let bus: PluginBus
    /// The service registry.
    public let services: PluginServices
    /// A swift-metrics factory that records into the kernel's Prometheus registry (every series
    /// gets the label `plugin="<name>"`). Also installed as this plugin's `MetricsSystem` backend.
    public let metrics: HostMetricsFactory

    init(host: HostHandle, name: String) {
        self.handle = host
        self.name = name
        self.logger = Logger(label: "jamey.plugin.\(name)") { _ in HostLogHandler(handle: host) }
        self.metrics = HostMetricsFactory(handle: host, help: PluginExport.shared.factory?.manifest.metricHelp ?? [:])
        self.bus = PluginBus(handle: host)
        self.services = PluginServices(handle: host)
    }

    /// Writes one log line with `fields` beside its message, in the order given: members of the
    /// line's object with `log.format: json`, `key=value` after the message with `text` (the
    /// kernel's `log_fields`, ABI 1.5). For lines a log shipper should read field by field, such
    /// as an access log: `context.log(.info, "GET /v1/x", fields: [("status", "200"), ("ms", "0.4")])`.
    public func log(_ level: Logger.Level, _ message: String, fields: [(String, String)]) {
        guard level >= logger.logLevel else { return }
        let abi = HostLogHandler.abi(level)
        if handle.log(level: abi, message, fields: fields) { return }
        var text = message
        for (key, value) in fields { text += " \(key)=\(value)" }
        text.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { handle.api.pointee.log(handle.host, abi, $0.baseAddress, $0.count) }
        }
    }

    /// The plugin's own data directory (`<data_dir>/<name>`), created on first use.
    /// - Throws: ``JameyError`` when the kernel cannot create it.
    public func dataDirectory() throws(JameyError) -> String {
        guard let p = handle.api.pointee.data_dir(handle.host) else {
            throw JameyError("the kernel could not create the data directory of plugin '\(name)'")
        }
        return String(cString: p)
    }

    /// How long the lifecycle hook of this plugin running now (init, start, stop, snapshot,
    /// restore, reconfigure) may still run before the kernel abandons the plugin (ABI 1.6
    /// `hook_time_left`); nil when none runs, or under a kernel before 1.6. A `stop` that waits
    /// for work to end bounds its wait with it.
    public var hookTimeLeft: Duration? {
        guard let offset = MemoryLayout<jamey_host_api>.offset(of: \.hook_time_left),
            Int(handle.api.pointee.struct_size) >= offset + MemoryLayout<UnsafeRawPointer?>.size,
            let timeLeft = handle.api.pointee.hook_time_left
        else { return nil }
        let nanoseconds = timeLeft(handle.host)
        return nanoseconds < 0 ? nil : .nanoseconds(nanoseconds)
    }

    /// This node's name (config `node.name`).
    public var nodeName: String { handle.api.pointee.node_name(handle.host).map { String(cString: $0) } ?? "" }

    /// This node's stable unique id.
    public var nodeID: String { handle.api.pointee.node_id(handle.host).map { String(cString: $0) } ?? "" }

    /// The kernel's metrics in Prometheus text format.
    public func metricsExposition() -> String { collectText(handle.api.pointee.metrics_exposition) }

    /// Every configured plugin as JSON (name, version, abi, path, state, health, error, requires, provides).
    public func pluginsJSON() -> String { collectText(handle.api.pointee.plugins_json) }

    private typealias TextFunction = @convention(c) (OpaquePointer?, jamey_text_sink_fn?, UnsafeMutableRawPointer?) -> Int32

    private func collectText(_ function: TextFunction?) -> String {
        guard let function else { return "" }
        var bytes: [UInt8] = []
        withUnsafeMutablePointer(to: &bytes) { ptr in
            _ = function(
                handle.host,
                { user, data, len in
                    guard let user, let data else { return }
                    let out = user.assumingMemoryBound(to: [UInt8].self)
                    out.pointee.append(contentsOf: UnsafeRawBufferPointer(start: data, count: len))
                }, ptr)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Cancels every subscription the plugin still holds (at stop and deinit).
    func closeAll() { bus.closeAll() }

    /// Installs the host-forwarding swift-log and swift-metrics backends for this plugin image,
    /// once (each plugin image has its own copy of those packages; it shares only the C ABI with the kernel), and points
    /// them at this instance.
    ///
    /// The image-wide `LoggingSystem`/`MetricsSystem` follow the most recently initialised
    /// instance of the plugin — exact in production, where a process runs one kernel. Use
    /// ``logger`` and ``metrics`` (the `factory:` parameter of swift-metrics types) to stay
    /// attached to one instance when a process hosts several kernels, as tests do.
    func bootstrapOnce() {
        GlobalBackends.shared.attach(handle)
    }
}

/// The backends installed into this image's swift-log and swift-metrics, forwarding to the
/// currently attached instance.
final class GlobalBackends: Sendable {
    static let shared = GlobalBackends()
    private let current = Mutex<HostHandle?>(nil)
    private let installed = Mutex(false)

    func attach(_ handle: HostHandle) {
        current.withLock { $0 = handle }
        installed.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { _ in ForwardingLogHandler() }
            MetricsSystem.bootstrap(ForwardingMetricsFactory())
        }
    }

    var handle: HostHandle? { current.withLock { $0 } }
}

/// swift-log handler for the image-wide `LoggingSystem`: forwards to the attached instance.
struct ForwardingLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var explicitLevel: Logger.Level?

    var logLevel: Logger.Level {
        get { explicitLevel ?? GlobalBackends.shared.handle.map { HostLogHandler(handle: $0).logLevel } ?? .info }
        set { explicitLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard let handle = GlobalBackends.shared.handle else { return }
        var inner = HostLogHandler(handle: handle)
        inner.metadata = metadata
        inner.metadataProvider = metadataProvider
        inner.log(event: event)
    }
}

/// swift-metrics factory for the image-wide `MetricsSystem`: creates series on the attached
/// instance (metrics created before any instance is attached are dropped).
struct ForwardingMetricsFactory: MetricsFactory {
    private var factory: HostMetricsFactory? {
        GlobalBackends.shared.handle.map {
            HostMetricsFactory(handle: $0, help: PluginExport.shared.factory?.manifest.metricHelp ?? [:])
        }
    }
    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        factory?.makeCounter(label: label, dimensions: dimensions) ?? NOOPMetricsHandler.instance
    }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        factory?.makeFloatingPointCounter(label: label, dimensions: dimensions) ?? NOOPMetricsHandler.instance
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        factory?.makeMeter(label: label, dimensions: dimensions) ?? NOOPMetricsHandler.instance
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        factory?.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate) ?? NOOPMetricsHandler.instance
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        factory?.makeTimer(label: label, dimensions: dimensions) ?? NOOPMetricsHandler.instance
    }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
