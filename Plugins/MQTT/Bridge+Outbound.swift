import CMosquitto
import JameyPluginKit
import MQTTCore

extension Bridge {
    /// Bus handler of an outbound rule: maps the message and sends or spools it. Messages the
    /// bridge itself put on the bus (imported from MQTT) are never exported back.
    func export(_ message: Message, rule: OutboundRule, cache: TopicCache) {
        guard message.source != context.name else { return }
        if message.isRequest {
            // Only reached when no responder is declared for the topic: say so rather than let
            // the requester wait for its timeout.
            context.bus.reply(
                to: message,
                .text(
                    "no responder for '\(message.topic)' (the mqtt bridge exports it as events only)",
                    headers: ["status": "503", "jamey.error": "no_responders"]))
            return
        }
        let node = self.node
        guard let topic = cache.translate(message.topic, { rule.mqttTopic(for: $0, node: node) }) else { return }
        send(
            OutboundMessage(
                topic: topic, payload: message.payload, qos: rule.qos, retain: rule.retain,
                contentType: settings.isV5 ? message.contentType : nil,
                userProperties: settings.isV5 ? OutboundMessage.userProperties(message.headers) : [],
                rule: rule.pattern.description))
    }

    /// Publishes directly when connected and nothing older waits in the spool; otherwise spools
    /// QoS 1/2 messages and drops (counting) QoS 0 ones. A QoS 1/2 message the client refuses
    /// because its connection just went down is spooled too (the loop thread has not seen the
    /// loss yet), and so is everything after it.
    func send(_ message: OutboundMessage) {
        enum Outcome { case sent, spooled, rejected(Int32), offline, overflow(spooled: Int), failed(MQTTError) }
        let outcome = link.withLock { l -> Outcome in
            if let client = l.client, message.qos == 0 || !l.spooling {
                // Counted before publishing, so an acknowledgement racing the bookkeeping below
                // waits for this lock instead of being skipped.
                if message.qos > 0 { tracked.add(1, ordering: .releasing) }
                let untracked = message.qos == 0 && beginUntracked(&l)
                let (rc, mid) = client.publish(message)
                if rc != MOSQ_ERR_SUCCESS.rawValue, message.qos > 0 { tracked.subtract(1, ordering: .releasing) }
                if untracked { endUntracked(mid, published: rc == MOSQ_ERR_SUCCESS.rawValue, &l) }
                if rc == MOSQ_ERR_NO_CONN.rawValue && message.qos > 0 {
                    l.spooling = true
                    spoolingHint.store(true, ordering: .releasing)
                } else if rc != MOSQ_ERR_SUCCESS.rawValue {
                    return rc == MOSQ_ERR_NO_CONN.rawValue ? .offline : .rejected(rc)
                } else if message.qos == 0 {
                    return .sent
                } else {
                    l.sequence += 1
                    // An id still held (more in flight than ids, never with maxUnacked) is replaced.
                    if let replaced = l.unacked.updateValue((l.sequence, message, .now), forKey: mid) {
                        l.unackedBytes -= replaced.message.payload.count
                    }
                    l.unackedBytes += message.payload.count
                    if l.unackedFull {
                        l.spooling = true
                        spoolingHint.store(true, ordering: .releasing)
                    }
                    return .sent
                }
            }
            if message.qos == 0 { return .offline }
            do throws(MQTTError) {
                if try spool.append(message) { return .spooled }
                l.overflow.unlogged += 1
                let now = ContinuousClock.now
                if let last = l.overflow.lastLog, now - last < .seconds(10) { return .overflow(spooled: -1) }
                l.overflow.lastLog = now
                defer { l.overflow.unlogged = 0 }
                return .overflow(spooled: l.overflow.unlogged)
            } catch {
                return .failed(error)
            }
        }
        switch outcome {
        case .sent:
            metrics.sent(bytes: message.payload.count)
        case .spooled:
            break
        case .rejected(let rc):
            metrics.dropped(.rejected)
            if let held = throttle.allow("publish") {
                logger.warning(
                    "could not publish to \(message.topic): \(MosquittoClient.describe(rc))\(Self.heldBack(held))")
            }
        case .offline:
            metrics.dropped(.offline)
        case .overflow(let count):
            metrics.dropped(.spoolFull)
            if count > 0 {
                logger.error(
                    "spool full (\(spool.maxMessages) messages / \(spool.maxBytes) bytes): dropped \(count) message(s) since the last report; latest for \(message.topic)"
                )
            }
        case .failed(let error):
            metrics.dropped(.spoolFull)
            logger.error("message for \(message.topic) dropped: \(error)")
        }
    }

    /// Whether a message no table tracks, about to be published, is to be recorded (see
    /// ``Link/untracked``): only while a QoS 1/2 message may wait for its acknowledgement (with
    /// nothing in flight or being drained there is no id to confuse). Counted before the
    /// publish, as ``tracked`` is: its report may come on the loop thread before the id is
    /// recorded, and then waits for the link lock instead of passing by (the entry was left
    /// for good, and took a PUBACK 65 535 publishes later).
    func beginUntracked(_ l: inout Link) -> Bool {
        guard l.spooling || !l.unacked.isEmpty else { return false }
        untrackedCount.add(1, ordering: .releasing)
        return true
    }

    /// Records the id ``beginUntracked(_:)`` counted for, or uncounts it when the publish failed.
    func endUntracked(_ mid: Int32, published: Bool, _ l: inout Link) {
        if published {
            l.untracked[mid, default: 0] += 1
        } else {
            untrackedCount.subtract(1, ordering: .releasing)
        }
    }

    /// Records a message no table tracks, published as `mid` outside the link lock (the loop
    /// thread's own publishes, whose reports it handles itself afterwards).
    func noteUntracked(_ mid: Int32, _ l: inout Link) {
        guard beginUntracked(&l) else { return }
        endUntracked(mid, published: true, &l)
    }

    /// `; 12 more since the last report` when lines were held back.
    static func heldBack(_ count: Int) -> String {
        count > 0 ? "; \(count) more since the last report" : ""
    }

    /// Publishes a request or response (never spooled: nobody waits for it after a reconnect).
    /// - Returns: whether it was handed to the client.
    func sendLive(_ message: OutboundMessage) -> Bool {
        let rc = link.withLock { l -> Int32 in
            guard let client = l.client else { return MOSQ_ERR_NO_CONN.rawValue }
            let untracked = beginUntracked(&l)
            let (rc, mid) = client.publish(message)
            if untracked { endUntracked(mid, published: rc == MOSQ_ERR_SUCCESS.rawValue, &l) }
            return rc
        }
        if rc == MOSQ_ERR_SUCCESS.rawValue {
            metrics.sent(bytes: message.payload.count)
            return true
        }
        metrics.dropped(rc == MOSQ_ERR_NO_CONN.rawValue ? .offline : .rejected)
        return false
    }

    /// Loop thread, while connected: sends spooled messages in order (a window at a time),
    /// deletes acknowledged ones, and returns to direct publishing once the spool is empty.
    ///
    /// Every spooled row is sent once per connection, in id order: the read position
    /// (``LoopState/lastSentID``) only moves forward, and the spool's ids only grow.
    func drain(_ client: MosquittoClient) {
        if !loop.acknowledged.isEmpty {
            do {
                try spool.delete(loop.acknowledged)
            } catch {
                logger.error("\(error)")
            }
            loop.acknowledged.removeAll()
        }
        guard spoolingHint.load(ordering: .acquiring), link.withLock({ $0.spooling }) else { return }
        let belowHalf = link.withLock { $0.unackedBelowHalf }
        let room = Self.drainWindow - loop.draining.count
        if room > 0 && belowHalf {
            let entries: [Spool.Entry]
            do {
                entries = try spool.read(after: loop.lastSentID, limit: room)
            } catch {
                logger.error("\(error)")
                return
            }
            for entry in entries {
                let (rc, mid) = client.publish(entry.message)
                guard rc == MOSQ_ERR_SUCCESS.rawValue else {
                    if rc == MOSQ_ERR_NO_CONN.rawValue { return }
                    metrics.dropped(.rejected)
                    if let held = throttle.allow("spooled") {
                        logger.warning(
                            "spooled message for \(entry.message.topic) rejected: \(MosquittoClient.describe(rc))\(Self.heldBack(held))"
                        )
                    }
                    loop.acknowledged.append(entry.id)
                    loop.lastSentID = entry.id
                    continue
                }
                loop.draining[mid] = InFlight(row: entry.id, rule: entry.message.rule, sentAt: .now)
                loop.lastSentID = entry.id
                metrics.sent(bytes: entry.message.payload.count)
            }
            if entries.isEmpty && loop.draining.isEmpty && loop.acknowledged.isEmpty && spool.count > 0,
                let first = try? spool.read(after: .min, limit: 1).first, first.id <= loop.lastSentID
            {
                // Rows behind the read position that nobody sent: never expected (ids only grow),
                // but a bridge that says connected must forward, so read them again from the front.
                logger.error(
                    "\(spool.count) spooled message(s) behind the drain's read position; sending them again in order")
                loop.lastSentID = .min
                link.withLock { $0.drainRewinds += 1 }
            }
        }
        if loop.draining.isEmpty && loop.acknowledged.isEmpty {
            let resumed = link.withLock { l -> Bool in
                guard l.spooling, spool.count == 0, l.unackedBelowHalf else { return false }
                l.spooling = false
                spoolingHint.store(false, ordering: .releasing)
                return true
            }
            if resumed { logger.debug("spool empty: publishing directly") }
        }
    }
}
