import Foundation
import JameyPluginKit
import MQTTCore

extension Bridge {
    /// Health: ok while connected; degraded while not, with the last error and when the next
    /// attempt is due. Never blocks beyond the link lock.
    func health() -> PluginHealthReport {
        let l = link.withLock { ($0.phase, $0.lastError, $0.nextAttempt) }
        let flight = inFlight()
        let spooled = spool.count
        var spoolText = spooled > 0 ? "; spool \(spooled) message(s)" : ""
        if flight.count > 0 {
            spoolText +=
                "; \(flight.count) in flight\(flight.oldest.map { ", oldest unacknowledged for \(Self.format($0))" } ?? "")"
        }
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
            let attempt = attemptText()
            return .degraded(
                "connecting to \(settings.broker)\(attempt)\(l.1.map { "; last error: \($0)" } ?? "")\(spoolText)")
        case .waiting:
            let next = l.2.map { max(0, $0.timeIntervalSinceNow) }.map { String(format: "%.1f s", $0) } ?? "?"
            return .degraded(
                "disconnected from \(settings.broker): \(l.1 ?? "unknown error"); next attempt in \(next)\(spoolText)")
        }
    }

    /// QoS 1/2 messages in flight (published, not yet acknowledged) and how long the oldest has
    /// waited, as the loop thread last saw them.
    func inFlight() -> (count: Int, oldest: Duration?) {
        let (direct, spooled, oldest) = link.withLock { ($0.unacked.count, $0.inFlightSpooled, $0.oldestInFlight) }
        return (direct + spooled, oldest.map { ContinuousClock.now - $0 })
    }

    /// ` (attempt 3, 0.4 s of 2.0 s)` while an attempt is in progress.
    private func attemptText() -> String {
        guard let a = link.withLock({ $0.attempt }) else { return "" }
        let elapsed = Duration.milliseconds(Int(max(0, -a.started.timeIntervalSinceNow) * 1000))
        return " (attempt \(a.number), \(Self.format(elapsed)) of \(Self.format(settings.connectTimeout)))"
    }

    /// The `mqtt.status` reply: connection, last error, next attempt, spool and rules as JSON.
    func statusJSON() -> String {
        let l = link.withLock { l in
            (l.phase, l.lastError, l.nextAttempt, l.connectedSince, l.connections, l.attempt, l.subscriptionsPending)
        }
        let (sessionPresent, spooledInFlight, rewinds) = link.withLock {
            ($0.sessionPresent, $0.inFlightSpooled, $0.drainRewinds)
        }
        let flight = inFlight()
        let reasons = metrics.ackReasonCounts.sorted { ($0.key.rule, $0.key.code) < ($1.key.rule, $1.key.code) }
        var object: [String: Any] = [
            "broker": settings.broker,
            "client_id": settings.clientID,
            "protocol": settings.isV5 ? "mqttv5" : "mqttv311",
            "state": l.0.rawValue,
            "connected": l.0 == .connected,
            "connections": l.4,
            "in_flight": flight.count,
            "in_flight_spooled": spooledInFlight,
            "session_present": sessionPresent,
            "stalls": metrics.stallCount,
            "drain_rewinds": rewinds,
            "ack_reasons": reasons.map {
                [
                    "rule": $0.key.rule, "code": Int($0.key.code), "reason": BridgeMetrics.reasonLabel($0.key.code),
                    "count": $0.value,
                ] as [String: Any]
            },
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
        object["oldest_unacked_ms"] = flight.oldest.map { Int($0.milliseconds) } ?? NSNull()
        object["attempt"] =
            l.5.map { a -> [String: Any] in
                [
                    "number": a.number, "elapsed_ms": Int(max(0, -a.started.timeIntervalSinceNow) * 1000),
                    "timeout_ms": Int(settings.connectTimeout.milliseconds),
                ]
            } ?? NSNull()
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
