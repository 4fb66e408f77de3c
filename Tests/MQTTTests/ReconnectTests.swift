import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Reconnection: backoff state in health, resubscription, and a QoS 1 stream that survives a
/// broker restart in its middle.
@Suite struct ReconnectTests {
    @Test func brokerDownIsReportedWithTheNextAttempt() async throws {
        let broker = try await Broker.make(.init(start: false))
        let node = try await Node.boot("down", port: broker.port, config: "inbound:\n  - mqtt: \"again/#\"")
        #expect(await eventually { node.healthDetail.contains("next attempt in") }, "\(node.healthDetail)")
        #expect(node.plugin?.health?.status == "degraded")
        #expect(node.healthDetail.contains("disconnected from 127.0.0.1:\(broker.port): cannot connect: connection refused"))
        let status = try node.status()
        #expect(status["connected"] as? Bool == false)
        #expect((status["last_error"] as? String)?.contains("connection refused") == true)
        // The backoff is bounded by max_delay_ms (400 in tests).
        #expect((status["next_attempt_ms"] as? Int).map { $0 <= 400 } ?? true)

        try await broker.restart()
        #expect(await node.waitReady(), "\(node.healthDetail)")
        #expect(node.metric(#"mqtt_reconnects_total{plugin="mqtt"}"#) == 0)

        // A restart: the node reconnects and subscribes again.
        let imported = try node.collect("again.>")
        await broker.stop(signal: SIGKILL)
        #expect(await eventually { !node.isConnected })
        try await broker.restart()
        #expect(await node.waitReady(), "\(node.healthDetail)")
        #expect(await eventually { node.metric(#"mqtt_reconnects_total{plugin="mqtt"}"#) == 1 })
        let fresh = try await TestClient.make(port: broker.port)
        try fresh.publish("jamey/again/x", "after restart")
        #expect(await eventually { imported.count == 1 })
    }

    /// A QoS 1 stream from the bus through the broker and back; the broker is stopped in the
    /// middle (SIGTERM, persistence on) and started again. Every message arrives and the first
    /// arrival of each is in publication order (QoS 1 may repeat what was in flight).
    @Test func brokerRestartInTheMiddleOfAQoS1StreamLosesNothing() async throws {
        let broker = try await Broker.make(.init(persistence: true))
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
                await broker.stop(signal: SIGTERM)
                #expect(await eventually { !node.isConnected })
            }
            if i == 2000 { try await broker.restart() }
            if i % 10 == 9 { usleep(1000) }  // pace the producer below the bus queue bound
        }
        let arrived = await eventually(timeout: .seconds(60)) { Set(got.texts).count == total }
        let missing = Set(0..<total).subtracting(got.texts.compactMap { Int($0) }).sorted()
        let drops = node.metric(#"jamey_bus_dropped_total{plugin="mqtt"}"#) ?? 0
        #expect(arrived, "missing \(missing.count): \(missing.prefix(20)); bus drops at the bridge: \(drops)")
        var seen = Set<Int>()
        var firsts: [Int] = []
        for text in got.texts {
            guard let n = Int(text) else { continue }
            if seen.insert(n).inserted { firsts.append(n) }
        }
        let outOfOrder = zip(firsts, firsts.dropFirst()).filter { $0.0 > $0.1 }
        #expect(outOfOrder.isEmpty, "first arrivals out of order at \(outOfOrder.prefix(5))")
        #expect(node.metric(#"mqtt_reconnects_total{plugin="mqtt"}"#) == 1)
        #expect(await eventually { node.spooled == 0 })
    }
}
