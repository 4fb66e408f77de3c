import Foundation
import JameyPluginKit
import MQTTCore

extension Bridge {
    /// Health: ok while connected; degraded while not, with the last error and when the next
    /// attempt is due. Never blocks beyond the link lock.
    func health() -> PluginHealthReport {
        let l = link.withLock { ($0.phase, $0.lastError, $0.nextAttempt) }
        let spooled = spool.count
        let spoolText = spooled > 0 ? "; spool \(spooled) message(s)" : ""
        switch l.0 {
        case .connected:
            let nodes = presence.onlineCount
            return .ok(
                "connected to \(settings.broker) as \(settings.clientID) (\(settings.protocolName)); \(nodes) other node(s) online\(spoolText)"
            )
        case .idle:
            return .degraded("not started\(spoolText)")
        case .stopped:
            return .degraded("stopped\(spoolText)")
        case .connecting:
            return .degraded(
                "connecting to \(settings.broker)\(l.1.map { "; last error: \($0)" } ?? "")\(spoolText)")
        case .waiting:
            let next = l.2.map { max(0, $0.timeIntervalSinceNow) }.map { String(format: "%.1f s", $0) } ?? "?"
            return .degraded(
                "disconnected from \(settings.broker): \(l.1 ?? "unknown error"); next attempt in \(next)\(spoolText)")
        }
    }

    /// The `mqtt.status` reply: connection, last error, next attempt, spool and rules as JSON.
    func statusJSON() -> String {
        let l = link.withLock { l in
            (l.phase, l.lastError, l.nextAttempt, l.connectedSince, l.connections, l.unacked.count, l.subscriptionsPending)
        }
        var object: [String: Any] = [
            "broker": settings.broker,
            "client_id": settings.clientID,
            "protocol": settings.isV5 ? "mqttv5" : "mqttv311",
            "state": l.0.rawValue,
            "connected": l.0 == .connected,
            "connections": l.4,
            "in_flight": l.5,
            "subscriptions_pending": l.6,
            "pending_requests": pending.count,
            "spool": [
                "messages": spool.count, "bytes": spool.bytes, "max_messages": spool.maxMessages, "max_bytes": spool.maxBytes,
            ],
            "dropped": Dictionary(
                uniqueKeysWithValues: BridgeMetrics.DropReason.allCases.map { ($0.rawValue, metrics.droppedCount($0)) }),
            "nodes_online": presence.onlineCount,
            "outbound": outbound.map {
                [
                    "bus": $0.pattern.description, "mqtt": TopicTranslation.join($0.prefix, $0.template.description),
                    "qos": Int($0.qos),
                ]
            },
            "inbound": inbound.map {
                [
                    "mqtt": $0.subscription, "bus": $0.template.description, "bus_pattern": $0.filter.busPattern,
                    "qos": Int($0.qos),
                ]
            },
            "remote": remote.map {
                ["bus": $0.pattern.description, "mqtt": TopicTranslation.join($0.prefix, $0.template.description)]
            },
        ]
        object["last_error"] = l.1 ?? NSNull()
        object["next_attempt_ms"] = l.2.map { Int(max(0, $0.timeIntervalSinceNow) * 1000) } ?? NSNull()
        object["connected_since"] = l.3.map { $0.timeIntervalSince1970 } ?? NSNull()
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
