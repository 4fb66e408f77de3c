import Foundation
import JameyKernel
import Testing

/// Reconnection: backoff state in health, resubscription, and a QoS 1 stream that survives a
/// broker restart in its middle.
@Suite struct ReconnectTests {
    @Test func brokerDownIsReportedWithTheNextAttempt() async throws {
        let broker = try Broker(.init(start: false))
        let node = try await Node.boot("down", port: broker.port, config: "inbound:\n  - mqtt: \"again/#\"")
        #expect(await eventually { node.healthDetail.contains("next attempt in") }, "\(node.healthDetail)")
        #expect(node.plugin?.health?.status == "degraded")
        #expect(node.healthDetail.contains("disconnected from 127.0.0.1:\(broker.port): cannot connect: connection refused"))
        let status = try node.status()
        #expect(status["connected"] as? Bool == false)
        #expect((status["last_error"] as? String)?.contains("connection refused") == true)
        // The backoff is bounded by max_delay_ms (400 in tests).
        #expect((status["next_attempt_ms"] as? Int).map { $0 <= 400 } ?? true)

        try broker.start()
        #expect(await node.waitReady(), "\(node.healthDetail)")
        #expect(node.metric(#"mqtt_reconnects_total{plugin="mqtt"}"#) == 0)

        // A restart: the node reconnects and subscribes again.
        let imported = try node.collect("again.>")
        broker.kill(signal: SIGKILL)
        #expect(await eventually { !node.isConnected })
        try broker.start()
        #expect(await node.waitReady(), "\(node.healthDetail)")
        #expect(await eventually { node.metric(#"mqtt_reconnects_total{plugin="mqtt"}"#) == 1 })
        let fresh = try TestClient(port: broker.port)
        try fresh.publish("jamey/again/x", "after restart")
        #expect(await eventually { imported.count == 1 })
    }

    /// A QoS 1 stream from the bus through the broker and back; the broker is stopped in the
    /// middle (SIGTERM, persistence on) and started again. Every message arrives and the first
    /// arrival of each is in publication order (QoS 1 may repeat what was in flight).
    @Test func brokerRestartInTheMiddleOfAQoS1StreamLosesNothing() async throws {
        let broker = try Broker(.init(persistence: true))
        let node = try await Node.boot(
            "stream", port: broker.port,
            config: """
                clean_session: false
                outbound:
                  - bus: "stream.>"
                    qos: 1
                inbound:
                  - mqtt: "stream/#"
                    bus: "got.{1}"
                    qos: 1
                    no_local: false
                """)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let got = try node.collect("got.>")
        let total = 3000
        for i in 0..<total {
            try node.publish("stream.seq", String(i))
            if i == 1000 {
                broker.kill(signal: SIGTERM)
                #expect(await eventually { !node.isConnected })
            }
            if i == 2000 { try broker.start() }
            if i % 10 == 9 { usleep(1000) }  // pace the producer below the bus queue bound
        }
        #expect(
            await eventually(timeout: .seconds(60)) { Set(got.texts).count == total }, "got \(Set(got.texts).count) of \(total)")
        var seen = Set<Int>()
        var firsts: [Int] = []
        for text in got.texts {
            guard let n = Int(text) else { continue }
            if seen.insert(n).inserted { firsts.append(n) }
        }
        #expect(firsts == Array(0..<total))
        #expect(node.metric(#"mqtt_reconnects_total{plugin="mqtt"}"#) == 1)
        #expect(await eventually { node.spooled == 0 })
    }
}
