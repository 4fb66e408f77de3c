import Foundation
import MQTTCore

/// The retained status a node publishes at `<presence topic>/<node>`: `online` with what it runs
/// while connected, `offline` as its last will and when it stops.
struct NodeStatus: Codable, Sendable, Equatable {
    /// The node's name.
    var node: String
    /// The node's stable id.
    var id: String
    /// `online` or `offline`.
    var status: String
    /// Version of the mqtt plugin that published it.
    var version: String?
    /// The node's MQTT client id.
    var clientId: String?
    /// When the node came online (seconds since 1970).
    var since: Double?
    /// The node's plugins.
    var plugins: [Plugin]?
    /// The services its started plugins provide.
    var services: [Service]?

    /// A plugin of the node.
    struct Plugin: Codable, Sendable, Equatable {
        var name: String
        var version: String?
        var state: String
    }

    /// A service of the node.
    struct Service: Codable, Sendable, Equatable {
        var name: String
        var version: String
    }

    /// Whether the node says it is online.
    var isOnline: Bool { status == "online" }

    private enum CodingKeys: String, CodingKey {
        case node, id, status, version, since, plugins, services
        case clientId = "client_id"
    }

    /// The JSON text.
    var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(self))) ?? []
    }

    /// Parses a status; nil for anything that is not one.
    static func parse(_ payload: [UInt8]) -> NodeStatus? {
        try? JSONDecoder().decode(NodeStatus.self, from: Data(payload))
    }

    /// The plugins and services of this node, from the kernel's plugins JSON.
    static func inventory(fromPluginsJSON text: String) -> (plugins: [Plugin], services: [Service]) {
        guard let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return ([], []) }
        var plugins: [Plugin] = []
        var services: [Service] = []
        for entry in list {
            guard let name = entry["name"] as? String else { continue }
            let state = entry["state"] as? String ?? "unknown"
            plugins.append(Plugin(name: name, version: entry["version"] as? String, state: state))
            guard state == "started", let provides = entry["provides"] as? [[String: Any]] else { continue }
            for p in provides {
                if let service = p["name"] as? String, let version = p["version"] as? String {
                    services.append(Service(name: service, version: version))
                }
            }
        }
        return (plugins, services)
    }
}
