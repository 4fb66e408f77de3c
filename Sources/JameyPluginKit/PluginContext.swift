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
        self.metrics = HostMetricsFactory(handle: host)
        self.bus = PluginBus(handle: host)
        self.services = PluginServices(handle: host)
    }

    /// The plugin's own data directory (`<data_dir>/<name>`), created on first use.
    /// - Throws: when the kernel cannot create it.
    public func dataDirectory() throws -> String {
        guard let p = handle.api.pointee.data_dir(handle.host) else {
            throw PluginKitError("the kernel could not create the data directory of plugin '\(name)'")
        }
        return String(cString: p)
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
    /// once (each plugin image has its own copy of those packages; see DESIGN.md).
    func bootstrapOnce() {
        Self.bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            let handle = self.handle
            LoggingSystem.bootstrap { _ in HostLogHandler(handle: handle) }
            MetricsSystem.bootstrap(metrics)
        }
    }

    private static let bootstrapped = Mutex(false)
}
