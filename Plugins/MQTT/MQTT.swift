import JameyPluginKit
import MQTTCore

/// The mqtt plugin: bridges the bus and an MQTT broker, and through the broker joins Jamey nodes
/// into a cluster (presence, shared subscriptions, cross-node requests).
///
/// See the README section "MQTT bridge and clustering" for configuration. All network work runs
/// on one loop thread owned by the ``Bridge``; the hooks only start and stop it.
public final class MQTT: JameyPlugin, SnapshotCapable {
    private let bridge: Bridge

    /// Checks the configuration, compiles the rules and opens the spool.
    /// - Parameters:
    ///   - context: the plugin's handle on the host.
    ///   - configuration: the validated `plugins.mqtt.config` section.
    /// - Throws: ``MQTTError`` naming the bad key or file.
    public init(context: PluginContext, configuration: MQTTConfiguration) async throws {
        bridge = try Bridge(context: context, configuration: configuration)
    }

    /// Subscribes the bus rules and starts connecting (in the background: a broker that is down
    /// does not fail the start; health reports it and messages are spooled).
    public func start() async throws {
        try bridge.start()
    }

    /// Publishes the offline status, disconnects, and keeps unacknowledged messages in the spool.
    public func stop() async throws {
        await bridge.stop()
    }

    /// Writes a consistent copy of the spool (messages not yet acknowledged by the broker).
    public func snapshot(to directory: String) async throws {
        try bridge.spool.snapshot(into: directory)
    }

    /// Puts back the spool of a snapshot; the kernel runs this before start, so the bridge sends
    /// those messages first when it connects.
    public func restore(from directory: String) async throws {
        try bridge.spool.restore(from: directory)
    }

    /// Connected, or why not and when the next attempt is due.
    public func health() -> PluginHealthReport {
        bridge.health()
    }
}

@_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? { export(MQTT.self, r) }

extension MQTT: ConfigurationChecking {
    /// What ``Bridge/check(_:)`` finds (TLS files, rules, keys that go together), without the
    /// `plugins.mqtt.config.` the kernel puts before it.
    public static func problems(in configuration: MQTTConfiguration) -> [String] {
        do throws(MQTTError) {
            try Bridge.check(configuration)
            return []
        } catch {
            let prefix = "plugins.mqtt.config."
            return [error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message]
        }
    }
}
