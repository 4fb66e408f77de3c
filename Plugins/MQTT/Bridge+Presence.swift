import CMosquitto
import Foundation
import JameyPluginKit
import MQTTCore

extension Bridge {
    /// The bus topic of node join events (payload: the node's status JSON; header `node`).
    static let nodeJoinedTopic = "mqtt.node.joined"
    /// The bus topic of node leave events (payload: the node's last status JSON; header `node`).
    static let nodeLeftTopic = "mqtt.node.left"

    /// The retained last will: this node's offline status.
    var will: (topic: String, payload: [UInt8])? {
        guard let topic = presenceTopic(of: node) else { return nil }
        return (topic, offlineStatus.json)
    }

    private var offlineStatus: NodeStatus {
        NodeStatus(node: node, id: context.nodeID, status: "offline", version: MQTT.manifest.version, clientId: settings.clientID)
    }

    /// This node's online status: what it runs, from the kernel's plugin list.
    private func onlineStatus() -> NodeStatus {
        let (plugins, services) = NodeStatus.inventory(fromPluginsJSON: context.pluginsJSON())
        if loop.onlineSince == nil { loop.onlineSince = Date().timeIntervalSince1970 }
        return NodeStatus(
            node: node, id: context.nodeID, status: "online", version: MQTT.manifest.version, clientId: settings.clientID,
            since: loop.onlineSince, plugins: plugins, services: services)
    }

    /// Publishes the retained online status (loop thread, while connected).
    /// - Parameter onlyIfChanged: skip it when it equals the last one published.
    func publishOnlineStatus(onlyIfChanged: Bool) {
        guard let client = loop.client, let topic = presenceTopic(of: node) else { return }
        let status = onlineStatus()
        if onlyIfChanged && status == loop.lastStatus { return }
        let message = OutboundMessage(
            topic: topic, payload: status.json, qos: 1, retain: true,
            contentType: settings.isV5 ? "application/json" : nil, userProperties: [])
        let (rc, mid) = client.publish(message)
        if rc == MOSQ_ERR_SUCCESS.rawValue {
            link.withLock { noteUntracked(mid, &$0) }
            loop.lastStatus = status
            metrics.sent(bytes: message.payload.count)
        } else {
            logger.warning("could not publish this node's status on \(topic): \(MosquittoClient.describe(rc))")
        }
    }

    /// Publishes the retained offline status while stopping (the will only fires on a lost
    /// connection).
    func beginStopping(_ client: MosquittoClient) {
        guard loop.connected, let topic = presenceTopic(of: node) else { return }
        let message = OutboundMessage(
            topic: topic, payload: offlineStatus.json, qos: 1, retain: true,
            contentType: settings.isV5 ? "application/json" : nil, userProperties: [])
        let (rc, mid) = client.publish(message)
        if rc == MOSQ_ERR_SUCCESS.rawValue { loop.offlineMID = mid }
    }

    /// A status message from another node: update the view, publish join/leave on the bus.
    func handlePresence(_ message: IncomingMessage) {
        guard let base = presenceBase, message.topic.hasPrefix(base + "/") else { return }
        let name = String(message.topic.dropFirst(base.count + 1))
        guard !name.isEmpty, !name.contains("/"), name != TopicTranslation.mqttLevel(node) else { return }
        guard let change = presence.handle(node: name, payload: message.payload) else { return }
        announce(change, name: name, payload: message.payload)
    }

    /// Ends a presence resync (``PresenceTracker/beginResync()``): the nodes the broker no longer
    /// knows leave, with a log line and a `mqtt.node.left` event each.
    func endPresenceResync() {
        for change in presence.endResync() {
            guard case .left(let status) = change else { continue }
            logger.info("node \(status.node) is no longer known to the broker (no retained status after resubscribing)")
            announce(change, name: status.node, payload: [])
        }
    }

    /// Publishes a join or leave on the bus and updates the online-nodes gauge.
    private func announce(_ change: PresenceTracker.Change, name: String, payload messagePayload: [UInt8]) {
        metrics.nodes(presence.onlineCount)
        let (topic, status) =
            switch change {
            case .joined(let status): (Self.nodeJoinedTopic, status)
            case .left(let status): (Self.nodeLeftTopic, status)
            }
        logger.info("node \(name) \(topic == Self.nodeJoinedTopic ? "joined" : "left")")
        let payload = messagePayload.isEmpty ? status.json : messagePayload
        do {
            try context.bus.publish(topic, Outgoing(payload, contentType: "application/json", headers: ["node": name]))
        } catch {
            logger.debug("could not publish \(topic): \(error)")
        }
    }

    /// The known nodes as JSON: `[{"node":..., "online":..., "changed":..., "status": {...}}]`, where
    /// `status` is the node's last ``NodeStatus``.
    func nodesJSON() -> String {
        let entries = presence.snapshot.map { entry -> [String: Any] in
            var object: [String: Any] = [
                "node": entry.status.node, "online": entry.status.isOnline, "changed": entry.changed.timeIntervalSince1970,
            ]
            if let data = try? JSONEncoder().encode(entry.status), let info = try? JSONSerialization.jsonObject(with: data) {
                object["status"] = info
            }
            return object
        }
        let data = (try? JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
