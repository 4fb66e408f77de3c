import Foundation
import JameyKernel
import JameyTestKit

/// A Jamey node booted in-process with the real mqtt plugin (`libMQTT.so`) pointed at a test
/// broker.
///
/// Booting and stopping run the plugin's hooks, which the plugin kit completes on the Swift
/// concurrency pool; so they happen on a thread of their own (``boot(_:port:config:dataDirectory:reconnect:)``,
/// ``stop()``) and never block a pool thread another test's plugin may need. A node still running
/// when the test lets go of it is stopped in the background.
final class Node: Sendable {
    /// The running kernel.
    let test: TestKernel
    /// The node's name.
    let name: String
    /// Its data directory (shared by a restarted node).
    let dataDirectory: String

    /// Reconnection settings that keep tests quick.
    static let fastReconnect = """
        reconnect:
          initial_delay_ms: 50
          max_delay_ms: 400
        """

    /// The YAML of a node whose mqtt section is `host`, `port` and then `config`.
    static func yaml(
        name: String, port: Int, host: String = "127.0.0.1", config: String, dataDirectory: String, library: String,
        logLevel: String = "warning", besides: [(name: String, path: String)] = []
    ) -> String {
        let section = "host: \(host)\nport: \(port)\n" + config
        let indented = section.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(
            separator: "\n")
        return """
            node:
              name: \(name)
            data_dir: \(dataDirectory)
            log:
              level: \(logLevel)
            hooks:
              health_interval_ms: 50
            plugins:
              mqtt:
                path: "\(library)"
                config:
            \(indented)

            """ + besides.map { "  \($0.name):\n    path: \"\($0.path)\"\n" }.joined()
    }

    private let isStopped = LockedBox(false)

    private init(name: String, dataDirectory: String, test: TestKernel) {
        self.name = name
        self.dataDirectory = dataDirectory
        self.test = test
    }

    deinit {
        let test = self.test
        if !isStopped.value { Thread { test.shutdown() }.start() }
    }

    /// Boots a node.
    /// - Parameters:
    ///   - name: node name (the client id defaults to `jamey-<name>`).
    ///   - port: the broker port.
    ///   - config: more YAML of the mqtt section (rules, credentials, TLS, ...).
    ///   - dataDirectory: reuse a data directory (a restarted node); nil for a new one.
    ///   - reconnect: include ``fastReconnect``.
    ///   - host: the broker host.
    ///   - besides: more plugin libraries to load beside the mqtt plugin (name, path).
    static func boot(
        _ name: String, port: Int, config: String = "", dataDirectory: String? = nil, reconnect: Bool = true,
        host: String = "127.0.0.1", besides: [(name: String, path: String)] = []
    ) async throws -> Node {
        let directory = try dataDirectory ?? TemporaryDirectory.make(prefix: "jamey-node-\(name)")
        let section = (reconnect ? Self.fastReconnect + "\n" : "") + config
        let yaml = Self.yaml(
            name: name, port: port, host: host, config: section, dataDirectory: directory,
            library: try TestPlugins.library("MQTT"), besides: besides)
        let test = try await onThread { try TestKernel.boot(yaml: yaml) }
        return Node(name: name, dataDirectory: directory, test: test)
    }

    /// Stops the kernel (the mqtt plugin publishes its offline status and disconnects).
    func stop() async {
        guard
            isStopped.withLock({ stopped in
                defer { stopped = true }
                return !stopped
            })
        else { return }
        let test = self.test
        await onThread { test.shutdown() }
    }

    /// The bus endpoint of the test.
    var bus: BusEndpoint { test.bus }

    /// The mqtt plugin's record.
    var plugin: PluginStatus? { test.kernel.plugin(named: "mqtt") }

    /// The mqtt plugin's health detail.
    var healthDetail: String { plugin?.health?.detail ?? "" }

    /// Whether the mqtt plugin reports itself connected.
    /// (Health is cached by the kernel, and reads "ok: first health check pending" until the
    /// plugin's first health call returns, so the detail decides.)
    var isConnected: Bool {
        guard let health = plugin?.health else { return false }
        return health.status == "ok" && health.detail.hasPrefix("connected to ")
    }

    /// Waits until connected and every subscription is acknowledged.
    func waitReady(timeout: Duration = .seconds(20)) async -> Bool {
        await eventually(timeout: timeout) { isConnected && (try? status())?["subscriptions_pending"] as? Int == 0 }
    }

    /// The `mqtt.status` JSON (answered inline on a bus thread, so a short blocking wait).
    func status() throws -> [String: Any] {
        let reply = try bus.requestSync(BusMessage(topic: "mqtt.status"), timeout: .seconds(20))
        return try JSONSerialization.jsonObject(with: Data(reply.payload)) as? [String: Any] ?? [:]
    }

    /// QoS 1/2 messages waiting for the broker's acknowledgement, from `mqtt.status` (-1: no answer).
    var inFlight: Int { (try? status())?["in_flight"] as? Int ?? -1 }

    /// Messages in the spool, from `mqtt.status`.
    var spooled: Int { ((try? status())?["spool"] as? [String: Any])?["messages"] as? Int ?? -1 }

    /// Collects every bus message matching `pattern`.
    func collect(_ pattern: String) throws -> Collected {
        let collected = Collected([])
        _ = try bus.subscribe(pattern, capacity: 100_000) {
            collected.append($0); return true
        }
        return collected
    }

    /// Publishes an event on the node's bus.
    func publish(_ topic: String, _ text: String, contentType: String? = nil, headers: [String: String] = [:]) throws {
        try bus.publish(
            BusMessage(
                topic: topic, payload: Array(text.utf8), contentType: contentType,
                headers: headers.sorted { $0.key < $1.key }.map { BusHeader(key: $0.key, value: $0.value) }))
    }

    /// The value of a metric series in the kernel's exposition (`name{labels}` exactly as printed).
    func metric(_ series: String) -> Double? {
        for line in test.kernel.metrics.exposition().split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// Bus messages collected by a test subscription (``Node/collect(_:)``).
typealias Collected = LockedBox<[BusMessage]>

extension LockedBox where Value == [BusMessage] {
    /// Everything so far.
    var messages: [BusMessage] { value }
    /// The payloads as text.
    var texts: [String] { value.map(\.text) }
}

extension BusMessage {
    /// The payload as text.
    var text: String { String(decoding: payload, as: UTF8.self) }
    /// A header's value.
    func header(_ key: String) -> String? { headers.first { $0.key == key }?.value }
}
