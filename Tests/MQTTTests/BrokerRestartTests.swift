import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Many broker restarts (SIGTERM and SIGKILL, some landing during a connection attempt, some
/// while the spool drains) under continuous QoS 1 traffic with a persistent MQTT 5 session, in
/// plain TCP and TLS: after every start that lasts, the bridge is connected and its spool drains
/// to zero; with a broker that saves its sessions, every message reaches the subscriber that was
/// subscribed throughout; acknowledgements with reason code 16 are counted per rule; a broker
/// that stops answering gets its connection recycled and every attempt ends at the connect
/// timeout.
@Suite struct BrokerRestartTests {
    /// Short timeouts keep the suite quick: connect 1 s, ack 2 s, backoff 50–400 ms.
    static func config(tls: String = "") -> String {
        """
        clean_session: false
        connect_timeout_ms: 1000
        ack_timeout_ms: 2000
        presence:
          enabled: false
        outbound:
          - bus: "rel.>"
            qos: 1
          - bus: "quiet.>"
            qos: 1
        inbound:
          - mqtt: "rel/#"
            bus: "got.{1}"
            qos: 1
            no_local: false
        \(tls)
        """
    }

    /// Bound on "connected and spool empty" after a start: backoff (≤ 400 ms) + connect timeout
    /// (1 s), a drain, and generous slack for a loaded 2-core machine.
    static let settle = Duration.seconds(45)

    /// How a restart cycle takes the broker down again.
    enum Cycle {
        /// Up long enough: the bridge must connect and drain the spool.
        case settle
        /// Down again within a few milliseconds of accepting connections (during an attempt).
        case duringConnect
        /// Down again as soon as the bridge is connected (while the spool drains).
        case whileDraining
    }

    static let cycles: [Cycle] = [
        .settle, .duringConnect, .settle, .whileDraining, .settle, .duringConnect, .whileDraining, .settle,
    ]

    @Test func sigtermRestartsUnderTrafficLoseNothingAndDrainEveryTime() async throws {
        let broker = try await Broker.make(.init(persistence: true, maxInflight: 20))
        let node = try await Node.boot("restarts", port: broker.port, config: Self.config())
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let got = try node.collect("got.>")
        let traffic = Traffic(node: node)
        try await run(Self.cycles, signal: SIGTERM, broker: broker, node: node, traffic: traffic)
        let published = await traffic.stop()

        #expect(await eventually(timeout: Self.settle) { node.isConnected && node.spooled == 0 }, "\(node.healthDetail)")
        let arrived = await eventually(timeout: .seconds(30), polling: .milliseconds(50)) {
            Set(got.texts.compactMap { Int($0) }).isSuperset(of: 0..<published)
        }
        let missing = Set(0..<published).subtracting(got.texts.compactMap { Int($0) }).sorted()
        #expect(arrived, "\(missing.count) of \(published) missing: \(missing.prefix(20))")
        var seen = Set<Int>()
        let firsts = got.texts.compactMap { Int($0) }.filter { seen.insert($0).inserted }
        let outOfOrder = zip(firsts, firsts.dropFirst()).filter { $0.0 > $0.1 }
        #expect(outOfOrder.isEmpty, "first arrivals out of order at \(outOfOrder.prefix(5))")
        // The broker saved the bridge's session: the session expiry went out with CONNECT.
        #expect((try node.status())["session_present"] as? Bool == true)
        // Nobody subscribes to quiet/#: every such message was acknowledged with reason 16.
        #expect(
            await eventually { (try? ackReasons(node, rule: "quiet.>")) ?? 0 >= traffic.quietCount },
            "reason-16 acks \((try? ackReasons(node, rule: "quiet.>")) ?? 0), quiet messages \(traffic.quietCount)")
        #expect(await eventually { node.ackReasonMetric(rule: "quiet.>") ?? 0 >= Double(traffic.quietCount) })
        #expect(try ackReasons(node, rule: "rel.>") == 0)
        #expect((try node.status())["drain_rewinds"] as? Int == 0, "the drain had to go back for skipped messages")
    }

    @Test func sigkillRestartsUnderTrafficReconnectDrainAndCountReason16() async throws {
        let broker = try await Broker.make(.init(persistence: true, maxInflight: 20))
        let node = try await Node.boot("crashes", port: broker.port, config: Self.config())
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let got = try node.collect("got.>")
        let traffic = Traffic(node: node)
        try await run(Self.cycles, signal: SIGKILL, broker: broker, node: node, traffic: traffic)
        let published = await traffic.stop()

        #expect(await eventually(timeout: Self.settle) { node.isConnected && node.spooled == 0 }, "\(node.healthDetail)")
        // A crashed broker loses what it acknowledged and had not delivered; what is lost is its
        // durability, not the bridge's: nothing arrives that was not published, and the reason-16
        // acknowledgements of the unsubscribed rule are all counted.
        let numbers = Set(got.texts.compactMap { Int($0) })
        #expect(numbers.isSubset(of: 0..<published))
        #expect(
            await eventually { (try? ackReasons(node, rule: "quiet.>")) ?? 0 >= traffic.quietCount },
            "reason-16 acks \((try? ackReasons(node, rule: "quiet.>")) ?? 0), quiet messages \(traffic.quietCount)")
        #expect((try node.status())["drain_rewinds"] as? Int == 0, "the drain had to go back for skipped messages")
        // After the last start everything gets through again.
        try node.publish("rel.seq", "-1")
        #expect(await eventually { got.texts.contains("-1") })
    }

    @Test func tlsRestartsUnderTrafficReconnectAndDrain() async throws {
        let certs = try await Certificates.make()
        let broker = try await Broker.make(
            .init(tls: (certs.ca, certs.serverCert, certs.serverKey, true), persistence: true, maxInflight: 20))
        let tls = """
            tls:
              enabled: true
              ca_file: \(certs.ca)
              cert_file: \(certs.clientCert)
              key_file: \(certs.clientKey)
            """
        let node = try await Node.boot("tls-restarts", port: broker.port, config: Self.config(tls: tls), host: "localhost")
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let got = try node.collect("got.>")
        let traffic = Traffic(node: node)
        try await run(
            [.settle, .duringConnect, .whileDraining, .settle], signal: SIGTERM, broker: broker, node: node, traffic: traffic)
        try await run([.settle, .settle], signal: SIGKILL, broker: broker, node: node, traffic: traffic)
        let published = await traffic.stop()
        #expect(await eventually(timeout: Self.settle) { node.isConnected && node.spooled == 0 }, "\(node.healthDetail)")
        #expect(Set(got.texts.compactMap { Int($0) }).isSubset(of: 0..<published))
        #expect(await eventually { (try? ackReasons(node, rule: "quiet.>")) ?? 0 >= traffic.quietCount })
        try node.publish("rel.seq", "-1")
        #expect(await eventually { got.texts.contains("-1") })
    }

    /// A broker that stops answering (SIGSTOP) keeps its TCP connections: the bridge sees no
    /// acknowledgement within the ack timeout, says so, recycles the connection, and every
    /// following attempt (TCP accepted, then no TLS handshake or no CONNACK) ends at the connect
    /// timeout, on schedule; with a persistent MQTT 5 session, in plain TCP and in TLS.
    @Test(arguments: [false, true]) func silentBrokerIsDetectedAndEveryAttemptEndsAtTheConnectTimeout(tls: Bool)
        async throws
    {
        let certs = tls ? try await Certificates.make() : nil
        let broker = try await Broker.make(
            .init(tls: certs.map { ($0.ca, $0.serverCert, $0.serverKey, false) }, persistence: true, maxInflight: 20))
        let tlsConfig = certs.map { "tls:\n  enabled: true\n  ca_file: \($0.ca)" } ?? ""
        let node = try await Node.boot(
            tls ? "silent-tls" : "silent", port: broker.port, config: Self.config(tls: tlsConfig),
            host: tls ? "localhost" : "127.0.0.1")
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let got = try node.collect("got.>")
        broker.signal(SIGSTOP)
        for i in 0..<50 { try node.publish("rel.seq", String(i)) }
        #expect(await eventually { node.metric(#"mqtt_stalls_total{plugin="mqtt"}"#) ?? 0 >= 1 }, "\(node.healthDetail)")
        #expect((try node.status())["stalls"] as? Int ?? 0 >= 1)
        // Attempts reach the stopped broker's listen queue and get no CONNACK: each ends at the
        // connect timeout and the next one follows the backoff.
        #expect(
            await eventually(polling: .milliseconds(20)) {
                ((try? node.status())?["last_error"] as? String)?.contains("connect timeout") == true
            }, "\(node.healthDetail)")
        var attempts = Set<Int>()
        var longest = 0
        #expect(
            await eventually(polling: .milliseconds(20)) {
                if let a = (try? node.status())?["attempt"] as? [String: Any], let n = a["number"] as? Int {
                    attempts.insert(n)
                    longest = max(longest, a["elapsed_ms"] as? Int ?? 0)
                }
                return attempts.count >= 3
            }, "attempts seen: \(attempts.sorted())")
        // No attempt outlives the connect timeout (1 s) by more than the loop's own tick.
        #expect(longest <= 1000 + 500, "an attempt ran \(longest) ms")
        // The unacknowledged messages went back to the spool: none is in flight while the broker
        // is away (the gauge kept its last value, up to max_inflight, before).
        #expect(node.metric(#"mqtt_in_flight_messages{plugin="mqtt"}"#) == 0)
        #expect(
            await eventually { node.healthDetail.contains("in flight") || node.healthDetail.contains("spool") },
            "\(node.healthDetail)")
        broker.signal(SIGCONT)
        #expect(await eventually(timeout: Self.settle) { node.isConnected && node.spooled == 0 }, "\(node.healthDetail)")
        #expect(await eventually { Set(got.texts.compactMap { Int($0) }).isSuperset(of: 0..<50) })
    }

    /// A node with nothing to send notices a broker that stopped answering by MQTT keepalive: a
    /// PINGREQ after `keepalive_s` of quiet, the connection given up a `keepalive_s` later without
    /// a PINGRESP (libmosquitto's rule, run by the bridge's own loop). Nothing else would tell it:
    /// no message is in flight for the ack timeout to catch.
    @Test func anIdleNodeNoticesAStoppedBrokerWithinTwoKeepalives() async throws {
        let broker = try await Broker.make()
        let config = "keepalive_s: 5\nconnect_timeout_ms: 1000\npresence:\n  enabled: false\n"
        let node = try await Node.boot("idle", port: broker.port, config: config)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        broker.signal(SIGSTOP)
        let stopped = ContinuousClock.now
        let noticed = await eventually(timeout: .seconds(40), polling: .milliseconds(100)) { !node.isConnected }
        let took = ContinuousClock.now - stopped
        #expect(noticed, "\(node.healthDetail)")
        // Two keepalives, with slack for a loaded machine (health is refreshed every second).
        #expect(took < .seconds(20), "noticed after \(took)")
        broker.signal(SIGCONT)
        #expect(await eventually(timeout: Self.settle) { node.isConnected }, "\(node.healthDetail)")
    }

    /// Takes the broker through `cycles`, each a stop with `signal`, a short pause and a start.
    /// Traffic keeps flowing through the stop, the restart, the reconnect and the start of the
    /// drain; a `.settle` check holds new traffic back while it waits for the spool to empty,
    /// since a steady stream whose messages arrive faster than the broker's acknowledgements
    /// (a loaded machine) never leaves the spool empty at any instant.
    private func run(_ cycles: [Cycle], signal: Int32, broker: Broker, node: Node, traffic: Traffic) async throws {
        for (index, cycle) in cycles.enumerated() {
            await broker.stop(signal: signal)
            try await Task.sleep(for: .milliseconds(50 + 40 * (index % 4)))
            try await broker.restart()
            switch cycle {
            case .settle:
                let settled = await traffic.whilePaused {
                    await eventually(timeout: Self.settle, polling: .milliseconds(20)) {
                        node.isConnected && node.spooled == 0
                    }
                }
                #expect(settled, "cycle \(index) (\(signal)): \(node.healthDetail)")
            case .duringConnect:
                try await Task.sleep(for: .milliseconds(5 + 20 * (index % 3)))
            case .whileDraining:
                _ = await eventually(timeout: Self.settle, polling: .milliseconds(1)) { node.isConnected }
            }
        }
    }

    /// Acknowledgements with reason 16 for `rule`, from `mqtt.status`.
    private func ackReasons(_ node: Node, rule: String) throws -> Int {
        let reasons = try node.status()["ack_reasons"] as? [[String: Any]] ?? []
        return reasons.filter { $0["rule"] as? String == rule && $0["code"] as? Int == 16 }.reduce(0) {
            $0 + ($1["count"] as? Int ?? 0)
        }
    }
}

/// Continuous QoS 1 traffic on a thread of its own: `rel.seq` with consecutive numbers and every
/// tenth message also on the unsubscribed `quiet.seq`, about 400 messages a second on a quiet machine.
final class Traffic: Sendable {
    private let state = LockedBox((sent: 0, quiet: 0, stop: false, done: false, paused: false))

    init(node: Node) {
        let state = self.state
        Thread {
            var i = 0
            while !state.value.stop {
                if state.value.paused {
                    usleep(2000)
                    continue
                }
                try? node.publish("rel.seq", String(i))
                i += 1
                let quiet = i % 10 == 0
                if quiet { try? node.publish("quiet.seq", String(i)) }
                state.withLock {
                    $0.sent = i
                    if quiet { $0.quiet += 1 }
                }
                usleep(2000)
            }
            state.withLock { $0.done = true }
        }.start()
    }

    /// Runs `body` with publishing held back, then resumes it.
    func whilePaused<T>(_ body: () async -> T) async -> T {
        state.withLock { $0.paused = true }
        defer { state.withLock { $0.paused = false } }
        return await body()
    }

    /// Quiet messages published so far.
    var quietCount: Int { state.value.quiet }

    /// Stops publishing; returns how many `rel.seq` messages were published (numbered from 0).
    func stop() async -> Int {
        state.withLock { $0.stop = true }
        _ = await eventually { state.value.done }
        return state.value.sent
    }
}

extension Node {
    /// `mqtt_ack_reasons_total` for `rule` and reason 16, from the kernel's exposition.
    func ackReasonMetric(rule: String) -> Double? {
        for line in test.kernel.metrics.exposition().split(separator: "\n")
        where line.hasPrefix("mqtt_ack_reasons_total{") && line.contains(#"rule="\#(rule)""#)
            && line.contains(#"reason="no_matching_subscribers""#)
        {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }
}
