import CMosquitto
import Foundation
import MQTTCore

/// libmosquitto's callbacks. They run on the loop thread, inside `mosquitto_loop` (or, with a
/// libmosquitto other than 2.0, inside its blocking connect), with `obj` pointing at the bridge
/// (kept alive by the loop thread).
extension Bridge {
    /// Subscription identifier of the response topic.
    static let replySubscriptionID = 1
    /// How long after a connection the retained statuses are given to arrive: a node that was
    /// online and sent none by then is no longer known to the broker (``PresenceTracker/beginResync()``).
    static let presenceResyncGrace = Duration.seconds(10)
    /// Subscription identifier of the presence topic.
    static let presenceSubscriptionID = 2
    /// Subscription identifier of inbound rule `i` is `inboundSubscriptionBase + i`.
    static let inboundSubscriptionBase = 100

    private static func bridge(_ obj: UnsafeMutableRawPointer?) -> Bridge? {
        obj.map { Unmanaged<Bridge>.fromOpaque($0).takeUnretainedValue() }
    }

    static func installCallbacks(_ client: MosquittoClient) {
        mosquitto_connect_v5_callback_set(client.handle) { _, obj, rc, flags, _ in
            Bridge.bridge(obj)?.connackReceived(rc, sessionPresent: flags & 1 != 0)
        }
        mosquitto_disconnect_v5_callback_set(client.handle) { _, obj, rc, _ in
            Bridge.bridge(obj)?.disconnectReceived(rc)
        }
        mosquitto_publish_v5_callback_set(client.handle) { _, obj, mid, reason, _ in
            Bridge.bridge(obj)?.acknowledged(mid, reason: reason)
        }
        mosquitto_message_v5_callback_set(client.handle) { _, obj, message, properties in
            guard let message, let bridge = Bridge.bridge(obj) else { return }
            bridge.loop.events &+= 1
            bridge.received(MQTTProperties.incoming(message, properties))
        }
        mosquitto_subscribe_v5_callback_set(client.handle) { _, obj, mid, count, granted, _ in
            guard let bridge = Bridge.bridge(obj) else { return }
            let codes = granted.map { Array(UnsafeBufferPointer(start: $0, count: Int(count))) } ?? []
            bridge.subscribed(mid, granted: codes)
        }
        mosquitto_log_callback_set(client.handle) { _, obj, level, text in
            guard let text, UInt32(bitPattern: level) & UInt32(MOSQ_LOG_ERR | MOSQ_LOG_WARNING) != 0 else { return }
            Bridge.bridge(obj)?.loop.lastLibraryError = String(cString: text)
        }
    }

    /// CONNACK: on success subscribe, announce presence and let publishing start.
    private func connackReceived(_ rc: Int32, sessionPresent: Bool) {
        guard rc == 0 else {
            loop.refusal = "the broker refused the connection: \(MosquittoClient.describeReason(rc, isV5: settings.isV5))"
            return
        }
        guard let client = loop.client else { return }
        loop.connected = true
        loop.lastAck = .now
        loop.lastDrainProgress = .now
        client.stopLogging()
        loop.lastLoggedError = nil
        if presenceBase != nil {
            presence.beginResync()
            loop.presenceResyncAt = .now + Self.presenceResyncGrace
        }
        subscribeAll(client)
        publishOnlineStatus(onlyIfChanged: false)
        loop.lastPresenceCheck = .now
        let (first, depth) = link.withLock { l -> (Bool, Int) in
            l.client = client
            l.spooling = spool.count > 0
            spoolingHint.store(l.spooling, ordering: .releasing)
            l.phase = .connected
            l.connectedSince = Date()
            l.nextAttempt = nil
            l.connections += 1
            l.attempt = nil
            l.sessionPresent = sessionPresent
            l.subscriptionsPending = loop.subscribing.count
            return (l.connections == 1, spool.count)
        }
        metrics.connected(true)
        if !first { metrics.reconnected() }
        logger.info(
            "connected to MQTT broker \(settings.broker) as \(settings.clientID) (\(settings.protocolName))\(depth > 0 ? "; sending \(depth) spooled message(s)" : "")"
        )
    }

    /// Subscribes the response topic, the presence topic and every inbound rule (SUBSCRIBE goes
    /// out before anything this connection publishes, so nothing sent after it is missed).
    private func subscribeAll(_ client: MosquittoClient) {
        var wanted: [(filter: String, qos: Int32, noLocal: Bool, id: Int)] = []
        if settings.isV5 && !remote.isEmpty { wanted.append((replyTopic, 1, false, Self.replySubscriptionID)) }
        if let base = presenceBase { wanted.append((base + "/+", 1, false, Self.presenceSubscriptionID)) }
        for (index, rule) in inbound.enumerated() {
            wanted.append((rule.subscription, rule.qos, rule.noLocal, Self.inboundSubscriptionBase + index))
        }
        for s in wanted {
            let (rc, mid) = client.subscribe(s.filter, qos: s.qos, noLocal: s.noLocal, identifier: s.id)
            if rc == MOSQ_ERR_SUCCESS.rawValue {
                loop.subscribing[mid] = s.filter
            } else {
                logger.error("could not subscribe to \(s.filter): \(MosquittoClient.describe(rc))")
            }
        }
    }

    /// SUBACK: report filters the broker refused.
    private func subscribed(_ mid: Int32, granted: [Int32]) {
        guard let filter = loop.subscribing.removeValue(forKey: mid) else { return }
        let pending = loop.subscribing.count
        link.withLock { $0.subscriptionsPending = pending }
        for code in granted where code >= 0x80 {
            let reason = MosquittoClient.describeReason(code, isV5: settings.isV5)
            logger.error("the broker refused the subscription to \(filter): \(reason)")
        }
    }

    /// DISCONNECT from the broker (MQTT 5 reasons such as "session taken over").
    private func disconnectReceived(_ rc: Int32) {
        if settings.isV5 && rc >= 0x80 {
            loop.disconnectReason = MosquittoClient.describeReason(rc, isV5: true)
            if rc == Int32(MQTT_RC_SESSION_TAKEN_OVER.rawValue) {
                loop.disconnectReason! += " (another client connected with client id '\(settings.clientID)')"
            }
        }
    }

    /// PUBACK/PUBCOMP (and, for QoS 0, "written"): forget the message (spooled ones are deleted
    /// from the spool). A reason code other than success is counted per rule and logged
    /// (throttled): 16 ("no matching subscribers") means the broker took the message and nobody
    /// received it; 0x80 and above mean it refused the message. Neither is sent again.
    /// A report for an id ``Link/untracked`` holds is taken as that message's: when a tracked
    /// message shares the id, the two reports come in some order and each takes one, so both
    /// are settled once both came. Only the acknowledgement of a tracked message counts as
    /// progress for the ack timeout (QoS 0 traffic hid a stalled QoS 1/2 path).
    private func acknowledged(_ mid: Int32, reason: Int32) {
        loop.events &+= 1
        if mid == loop.offlineMID {
            loop.lastAck = .now
            loop.offlineAcknowledged = true
            return
        }
        if untrackedCount.load(ordering: .acquiring) > 0 {
            let untracked = link.withLock { l -> Bool in
                guard let count = l.untracked[mid] else { return false }
                l.untracked[mid] = count > 1 ? count - 1 : nil
                untrackedCount.subtract(1, ordering: .releasing)
                return true
            }
            if untracked {
                if reason != 0 { acknowledgedWithReason(reason, rule: nil) }
                return
            }
        }
        var rule: String?
        var found = false
        if let entry = loop.draining.removeValue(forKey: mid) {
            loop.acknowledged.append(entry.row)
            rule = entry.rule
            found = true
        } else if tracked.load(ordering: .acquiring) > 0 {
            (found, rule) = link.withLock { l -> (Bool, String?) in
                guard let entry = l.unacked.removeValue(forKey: mid) else { return (false, nil) }
                l.unackedBytes -= entry.message.payload.count
                tracked.subtract(1, ordering: .releasing)
                return (true, entry.message.rule)
            }
        }
        if found { loop.lastAck = .now }
        if reason != 0 { acknowledgedWithReason(reason, rule: rule) }
    }

    /// Counts and logs (one line per rule and reason every 10 s) an acknowledgement that is not a
    /// plain success.
    private func acknowledgedWithReason(_ reason: Int32, rule: String?) {
        let label = rule ?? BridgeMetrics.bridgeRule
        metrics.acknowledged(reason: reason, rule: label)
        if reason >= 0x80 { metrics.dropped(.rejected) }
        guard let held = throttle.allow("ack \(reason) \(label)") else { return }
        let text = MosquittoClient.describeReason(reason, isV5: settings.isV5)
        let what =
            reason >= 0x80
            ? "refused a message" : "acknowledged a message with reason \(reason) (\(text)): nobody received it"
        let because = reason >= 0x80 ? ": \(text) (reason \(reason))" : ""
        logger.warning(
            "the broker \(what)\(because); rule \(label)\(Self.heldBack(held)) (counted in mqtt_ack_reasons_total)")
    }
}
