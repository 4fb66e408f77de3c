import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// The spool: QoS 1 messages published while the broker is unreachable are kept in SQLite,
/// survive a restart of Jamey and go out in order; what does not fit is counted.
@Suite struct SpoolTests {
    static let rules = """
        outbound:
          - bus: "spool.>"
            qos: 1
          - bus: "fast.>"
            qos: 0
        """

    @Test func spoolSurvivesARestartAndDrainsInOrder() async throws {
        let broker = try await Broker.make(.init(start: false))
        let first = try await Node.boot("spooler", port: broker.port, config: Self.rules)
        #expect(await eventually { first.healthDetail.contains("next attempt") }, "\(first.healthDetail)")
        for i in 0..<200 { try first.publish("spool.item", "s\(i)", headers: ["n": String(i)]) }
        try first.publish("fast.item", "lost")  // QoS 0 is not spooled
        #expect(await eventually { first.spooled == 200 })
        #expect(await eventually { first.metric(#"mqtt_spool_messages{plugin="mqtt"}"#) == 200 })
        #expect(await eventually { first.metric(#"mqtt_dropped_total{plugin="mqtt",reason="offline"}"#) == 1 })
        #expect(
            await eventually { first.healthDetail.contains("spool 200 message(s)") }, "health is polled: \(first.healthDetail)")
        await first.stop()
        #expect(FileManager.default.fileExists(atPath: first.dataDirectory + "/mqtt/spool.sqlite"))

        try await broker.restart()
        let client = try await TestClient.make(port: broker.port)
        try await client.subscribe("jamey/spool/#")
        let second = try await Node.boot("spooler", port: broker.port, config: Self.rules, dataDirectory: first.dataDirectory)
        #expect(await eventually(timeout: .seconds(20)) { client.messages(on: "jamey/spool/").count >= 200 })
        let texts = client.messages(on: "jamey/spool/").map(\.text)
        #expect(texts == (0..<200).map { "s\($0)" })
        #expect(client.messages(on: "jamey/spool/").last?.userProperties["n"] == "199")
        #expect(await eventually { second.spooled == 0 })
        // Publishing goes direct again, after the spooled ones.
        try second.publish("spool.item", "live")
        #expect(await eventually { client.messages(on: "jamey/spool/").last?.text == "live" })
    }

    @Test func overflowIsCountedNotSilent() async throws {
        // The node's user is not in the password file yet: it is refused and spools.
        let broker = try await Broker.make(.init(users: [("observer", "pw")]))
        let client = try await TestClient.make(port: broker.port, username: "observer", password: "pw")
        try await client.subscribe("jamey/spool/#")
        let node = try await Node.boot(
            "tiny", port: broker.port, config: "username: tiny\npassword: pw\nspool:\n  max_messages: 10\n" + Self.rules)
        #expect(await eventually { node.healthDetail.contains("refused") }, "\(node.healthDetail)")
        for i in 0..<15 { try node.publish("spool.item", "s\(i)") }
        #expect(await eventually { node.metric(#"mqtt_dropped_total{plugin="mqtt",reason="spool_full"}"#) == 5 })
        #expect(node.spooled == 10)
        let dropped = try node.status()["dropped"] as? [String: Int]
        #expect(dropped?["spool_full"] == 5)

        try broker.addUser("tiny", "pw")
        #expect(await eventually { client.messages(on: "jamey/spool/").count == 10 }, "\(node.healthDetail)")
        #expect(client.messages(on: "jamey/spool/").map(\.text) == (0..<10).map { "s\($0)" })
    }
}
