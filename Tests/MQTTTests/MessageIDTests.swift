import Foundation
import JameyTestKit
import Testing

/// libmosquitto numbers every publish, QoS 0 included, with one 16-bit counter, and reports a
/// QoS 0 message written through the callback that reports acknowledgements. A QoS 1 message
/// still waiting for its PUBACK 65 535 publishes later shares its id with a QoS 0 one, whose
/// report settled it as if the broker had taken it (a spooled one's row was deleted; at the
/// next drop it was not put back): lost, against the at-least-once promise.
@Suite struct MessageIDTests {
    @Test func aQoS0ReportSharingItsIDDoesNotSettleAQoS1MessageStillUnacknowledged() async throws {
        let (broker, node) = try await HoldingBroker.withNode("ids", also: "fast.>", qos: 0)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let inFlight = { node.inFlight }
        try node.publish("held.item", "wait for me")
        #expect(await eventually { broker.held == 1 })
        #expect(inFlight() == 1)
        // More than 65 535 publishes: one of them has the held message's id. Paced, since the
        // bus drops what the bridge's mailbox has no room for.
        var sent = 0
        while sent < 66_000 {
            for _ in 0..<500 { try node.publish("fast.item", "x") }
            sent += 500
            let expected = sent
            try #require(
                await eventually(timeout: .seconds(30)) { broker.qos0 >= expected }, "\(broker.qos0) of \(expected)")
        }
        // Each report follows its write at once; the wrong one would settle the held message
        // within microseconds of the broker's receipt, so two seconds of it still in flight tell.
        #expect(!(await eventually(timeout: .seconds(2)) { inFlight() != 1 }), "in flight: \(inFlight())")
        try broker.release()
        #expect(await eventually { inFlight() == 0 })
        await node.stop()
    }
}

/// Behind a broker slow to acknowledge, what waits in memory for its acknowledgement is bounded
/// by bytes as well as by count: past 32 MiB new messages go to the spool (20 000 messages of
/// 1 MiB were held, twice over, before).
@Suite struct UnacknowledgedBytesTests {
    @Test func pastTheByteBoundMessagesGoToTheSpoolUntilAcknowledged() async throws {
        let (broker, node) = try await HoldingBroker.withNode("bytes")
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let inFlight = { node.inFlight }
        let payload = String(repeating: "b", count: 512 << 10)
        for number in 1...80 {
            try node.publish("held.item", payload)
            // One at a time: the bus drops what the bridge's mailbox has no room for.
            try #require(await eventually { inFlight() + node.spooled == number })
        }
        // 64 of 512 KiB reach 32 MiB; the other 16 wait in the spool.
        #expect(await eventually { node.spooled == 16 }, "spooled \(node.spooled), in flight \(inFlight())")
        #expect(inFlight() == 64)
        #expect(await eventually { broker.held == 64 })
        try broker.release()
        #expect(await eventually(timeout: .seconds(20)) { node.spooled == 0 && inFlight() == 0 }, "\(node.spooled)")
        await node.stop()
    }
}

/// A connection the broker accepts and then cuts does not start the reconnection backoff over
/// (a session taken over by another node with the same client id reconnected every 25-50 ms
/// here, forever, sending everything in flight again each time).
@Suite struct FlappingConnectionTests {
    @Test func aConnectionCutAtOnceBacksOffAsAFailedOneDoes() async throws {
        let broker = try await HoldingBroker.start(cut: true)
        let node = try await Node.boot(
            "flapping", port: broker.port,
            config: """
                protocol: mqttv311
                reconnect:
                  initial_delay_ms: 50
                  max_delay_ms: 800
                  jitter: 0
                """, reconnect: false)
        #expect(await eventually { broker.connections >= 3 })
        // 50, 100, 200, 400, 800, 800 ms: about 7 connections in 3 s (a backoff started over at
        // each CONNACK makes 60).
        let first = broker.connections
        try await Task.sleep(for: .seconds(3))
        let more = broker.connections - first
        #expect(more >= 1, "it goes on trying")
        #expect(more <= 12, "\(more) connections in 3 s")
        await node.stop()
    }
}
