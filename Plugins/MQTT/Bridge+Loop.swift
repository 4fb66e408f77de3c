import CMosquitto
import Foundation
import MQTTCore

extension Bridge {
    /// The loop thread: connect, serve the connection until it ends, wait out the backoff, repeat
    /// until stopped.
    func run() {
        var backoff = Backoff(configuration.reconnect)
        var failures = 0
        while !isStopping {
            let began = ContinuousClock.now
            let reached = connectOnce(attempt: failures + 1)
            if isStopping { break }
            if reached {
                // Only a connection that lasted starts the backoff over: one the broker accepts
                // and then cuts (another node with the same client id taking the session over, a
                // proxy that accepts and closes) reconnected every 0.25-0.5 s forever, sending
                // everything in flight again each time.
                if ContinuousClock.now - began >= Self.stableConnection { backoff.reset() }
                failures = 0
            } else {
                failures += 1
            }
            let delay = backoff.next()
            let error = link.withLock { l in
                l.phase = .waiting
                l.attempt = nil
                l.nextAttempt = Date().addingTimeInterval(delay.seconds)
                return l.lastError
            }
            let text =
                "MQTT broker \(settings.broker) unavailable: \(error ?? "unknown error"); next attempt in \(Self.format(delay))"
            // A new error is a warning; the same one again is one too every 10 s (with the count
            // of attempts), so the log shows the schedule keeps going.
            if reached {
                // end() has just logged the disconnection.
                _ = throttle.allow("unavailable")
                logger.info("next attempt to connect to MQTT broker \(settings.broker) in \(Self.format(delay))")
            } else if error != loop.lastLoggedError {
                logger.warning("\(text)")
                loop.lastLoggedError = error
                _ = throttle.allow("unavailable")
            } else if let held = throttle.allow("unavailable") {
                logger.warning("\(text) (\(failures) attempt(s) failed; \(held + 1) the same way since the last report)")
            } else {
                logger.debug("\(text)")
            }
            sleep(for: delay)
        }
        link.withLock { l in
            l.phase = .stopped
            l.nextAttempt = nil
        }
        metrics.connected(false)
        metrics.flush()
        metrics.spool(messages: spool.count, bytes: spool.bytes)
        loopFinished()
    }

    /// Waits `delay`, or less when stopping, keeping metrics current meanwhile.
    private func sleep(for delay: Duration) {
        let until = Date().addingTimeInterval(delay.seconds)
        while !isStopping && Date() < until {
            let step = min(until, Date().addingTimeInterval(0.2))
            wake.lock()
            if !isStopping { _ = wake.wait(until: step) }
            wake.unlock()
            housekeeping()
        }
    }

    /// One connection attempt and, when it succeeds, the life of the connection. The attempt
    /// (name lookup, TCP, TLS, CONNECT and CONNACK) is given up at the connect timeout, counted
    /// from its start.
    /// - Parameter attempt: the attempt's number since the last successful connection.
    /// - Returns: whether the broker accepted the connection.
    private func connectOnce(attempt: Int) -> Bool {
        let started = ContinuousClock.now
        link.withLock { l in
            l.phase = .connecting
            l.nextAttempt = nil
            l.attempt = (attempt, Date(), Date().addingTimeInterval(settings.connectTimeout.seconds))
        }
        let client: MosquittoClient
        do {
            client = try MosquittoClient(
                settings: settings, will: will, maxInflight: maxInflight,
                userData: Unmanaged.passUnretained(self).toOpaque())
        } catch {
            link.withLock { $0.lastError = error.message }
            return false
        }
        Self.installCallbacks(client)
        loop.client = client
        loop.connected = false
        loop.refusal = nil
        loop.disconnectReason = nil
        loop.lastLibraryError = nil
        loop.offlineMID = nil
        loop.offlineAcknowledged = false
        loop.stalled = nil
        let (connectCode, connectError) = client.connect(settings)
        guard connectCode == MOSQ_ERR_SUCCESS.rawValue else {
            let error =
                connectCode == MOSQ_ERR_TLS.rawValue
                ? tlsFailure : "cannot connect: \(connectError ?? "error \(connectCode)")"
            end(client, error: error)
            return false
        }
        var stopDeadline: ContinuousClock.Instant?
        var error: String?
        while true {
            errno = 0
            var rc = client.loop(timeoutMilliseconds: 100)
            let loopErrno = errno
            if rc == MOSQ_ERR_SUCCESS.rawValue && loop.connected { rc = readMore(client) }
            if rc != MOSQ_ERR_SUCCESS.rawValue {
                let reason = MosquittoClient.describe(rc, errno: loopErrno)
                error =
                    loop.refusal ?? loop.disconnectReason.map { "disconnected by the broker: \($0)" }
                    ?? (loop.connected ? "connection lost: \(reason)" : "cannot connect: \(reason)")
                if rc == MOSQ_ERR_TLS.rawValue { error = tlsFailure }
                break
            }
            if !loop.connected {
                if let refusal = loop.refusal {
                    error = refusal
                    break
                }
                if ContinuousClock.now - started > settings.connectTimeout {
                    error = "no connection within \(Self.format(settings.connectTimeout)) (connect timeout)"
                    break
                }
            }
            if let stalled = loop.stalled, !isStopping {
                error = stalled
                break
            }
            if isStopping {
                if stopDeadline == nil {
                    stopDeadline = .now + .seconds(2)
                    beginStopping(client)
                }
                if !loop.connected || stoppedCleanly || ContinuousClock.now > stopDeadline! {
                    disconnect(client)
                    break
                }
            }
            if loop.connected { drain(client) }
            housekeeping()
        }
        let reached = loop.connected
        end(client, error: isStopping ? nil : error)
        return reached
    }

    /// Under load, reads the packets already waiting without another `select` each (libmosquitto's
    /// loop reads one packet per wake-up): one packet at a time while each read completes a
    /// message or an acknowledgement, at most 256.
    private func readMore(_ client: MosquittoClient) -> Int32 {
        for _ in 0..<256 {
            let before = loop.events
            let rc = client.read()
            if rc != MOSQ_ERR_SUCCESS.rawValue { return rc }
            if loop.events == before { break }
        }
        return MOSQ_ERR_SUCCESS.rawValue
    }

    /// A TLS failure, with OpenSSL's reason when libmosquitto logged one.
    private var tlsFailure: String {
        "TLS handshake failed: \(loop.lastLibraryError ?? "see the broker's log")"
    }

    /// Everything sent while stopping has been acknowledged.
    private var stoppedCleanly: Bool {
        (loop.offlineMID == nil || loop.offlineAcknowledged) && loop.draining.isEmpty
            && link.withLock { $0.unacked.isEmpty }
    }

    /// Sends DISCONNECT and runs the loop until the socket is closed (at most half a second).
    private func disconnect(_ client: MosquittoClient) {
        client.disconnect()
        let deadline = ContinuousClock.now + .milliseconds(500)
        while ContinuousClock.now < deadline && client.loop(timeoutMilliseconds: 50) == MOSQ_ERR_SUCCESS.rawValue {}
    }

    /// The connection is over: no more direct publishing; unacknowledged messages go back to the
    /// front of the spool; the client is destroyed.
    private func end(_ client: MosquittoClient, error: String?) {
        let wasConnected = loop.connected
        let requeue = link.withLock { l in
            l.client = nil
            l.spooling = true
            spoolingHint.store(true, ordering: .releasing)
            l.connectedSince = nil
            l.attempt = nil
            l.inFlightSpooled = 0
            l.oldestInFlight = nil
            if let error { l.lastError = error }
            let requeue = l.unacked.values.sorted { $0.sequence < $1.sequence }.map(\.message)
            l.unacked.removeAll()
            l.unackedBytes = 0
            tracked.store(0, ordering: .releasing)
            l.untracked.removeAll()
            untrackedCount.store(0, ordering: .releasing)
            return requeue
        }
        // Outside the lock: up to `max_unacked` messages with their payloads in one transaction
        // (seconds for 20 000), which every send, every remote request and the status route
        // would otherwise wait for. A send meanwhile appends to the spool; these go in front of
        // it (ids below the spool's first), so the order holds.
        do {
            try spool.prepend(requeue)
        } catch {
            metrics.dropped(.spoolFull)
            logger.error("\(requeue.count) unacknowledged message(s) could not be put back in the spool: \(error)")
        }
        if !loop.acknowledged.isEmpty {
            try? spool.delete(loop.acknowledged)
            loop.acknowledged.removeAll()
        }
        loop.draining.removeAll()
        loop.subscribing.removeAll()
        loop.lastSentID = .min
        loop.connected = false
        loop.client = nil
        loop.presenceResyncAt = nil
        presence.cancelResync()
        metrics.connected(false)
        metrics.spool(messages: spool.count, bytes: spool.bytes)
        // Back in the spool, nothing is in flight (the gauge is otherwise set only while
        // connected, and kept its last value for as long as the broker was away).
        metrics.inFlight(0, oldest: nil)
        if wasConnected {
            if let error {
                logger.warning("disconnected from MQTT broker \(settings.broker): \(error)")
                loop.lastLoggedError = error
            } else {
                logger.info("disconnected from MQTT broker \(settings.broker)")
            }
        }
    }

    /// Periodic work, a few times a second: metrics, expired requests, presence changes.
    func housekeeping() {
        let now = ContinuousClock.now
        guard now - loop.lastHousekeeping >= .milliseconds(200) else { return }
        loop.lastHousekeeping = now
        metrics.flush()
        metrics.spool(messages: spool.count, bytes: spool.bytes)
        if loop.connected { watchProgress(now: now) }
        reportOverflow(now: now)
        pending.expire(now: now)
        if loop.connected, let at = loop.presenceResyncAt, now >= at {
            loop.presenceResyncAt = nil
            endPresenceResync()
        }
        if loop.connected, presenceBase != nil, now - loop.lastPresenceCheck >= .seconds(configuration.presence.refreshS) {
            loop.lastPresenceCheck = now
            publishOnlineStatus(onlyIfChanged: true)
        }
    }

    /// Publishes what is in flight for health and status, and detects a send path that stopped
    /// making progress: QoS 1/2 messages in flight with no acknowledgement for `ack_timeout_ms`
    /// since the oldest was sent, or spooled messages waiting with nothing in flight as long.
    /// Either recycles the connection (logged and counted in `mqtt_stalls_total`).
    private func watchProgress(now: ContinuousClock.Instant) {
        let oldestSpooled = loop.draining.values.lazy.map(\.sentAt).min()
        let spooledInFlight = loop.draining.count
        let (direct, oldest, spooling) = link.withLock { l in
            let oldestDirect = l.unacked.values.lazy.map(\.sentAt).min()
            let oldest = [oldestDirect, oldestSpooled].compactMap { $0 }.min()
            l.inFlightSpooled = spooledInFlight
            l.oldestInFlight = oldest
            return (l.unacked.count, oldest, l.spooling)
        }
        let inFlight = direct + spooledInFlight
        metrics.inFlight(inFlight, oldest: oldest.map { now - $0 })
        if inFlight > 0 || !spooling || spool.count == 0 { loop.lastDrainProgress = now }
        guard loop.stalled == nil, configuration.ackTimeoutMs > 0 else { return }
        let timeout = Duration.milliseconds(configuration.ackTimeoutMs)
        if let oldest, now - max(oldest, loop.lastAck) > timeout {
            loop.stalled =
                "no acknowledgement for \(inFlight) in-flight message(s) within \(Self.format(timeout)) (ack timeout); connection recycled"
        } else if now - loop.lastDrainProgress > timeout {
            loop.stalled =
                "\(spool.count) spooled message(s) not sent within \(Self.format(timeout)) (ack timeout); connection recycled"
        }
        if let stalled = loop.stalled {
            metrics.stalled()
            logger.warning("MQTT send path to \(settings.broker) stalled: \(stalled)")
        }
    }

    /// Logs spool overflows not reported yet once their 10 s window has passed, so the count is
    /// written even when no further message overflows.
    private func reportOverflow(now: ContinuousClock.Instant) {
        let count = link.withLock { l -> Int in
            guard l.overflow.unlogged > 0, let last = l.overflow.lastLog, now - last >= .seconds(10) else { return 0 }
            defer {
                l.overflow.unlogged = 0
                l.overflow.lastLog = now
            }
            return l.overflow.unlogged
        }
        if count > 0 {
            logger.error(
                "spool full (\(spool.maxMessages) messages / \(spool.maxBytes) bytes): dropped \(count) message(s) since the last report"
            )
        }
    }

    /// `1.5 s`, `250 ms`.
    static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        return seconds >= 1 ? String(format: "%.1f s", seconds) : "\(duration.milliseconds) ms"
    }
}
