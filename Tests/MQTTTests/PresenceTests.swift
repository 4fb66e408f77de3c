import Foundation
import JameyKernel
import Testing

/// Presence: each node publishes a retained status with a last will; the others see it join and
/// leave and publish that on their bus.
@Suite struct PresenceTests {
    @Test func secondNodeSeesTheFirstJoinAndLeaveWhenKilled() throws {
        let broker = try Broker()
        let watcher = try Node("watcher", port: broker.port)
        defer { watcher.shutdown() }
        #expect(watcher.waitReady(), "\(watcher.healthDetail)")
        let events = try watcher.collect("mqtt.node.>")

        let worker = try ServeProcess("worker", port: broker.port)
        #expect(eventually(timeout: .seconds(20)) { events.messages.contains { $0.topic == "mqtt.node.joined" } }, "\(worker.log)")
        let joined = try #require(events.messages.first { $0.topic == "mqtt.node.joined" })
        #expect(joined.header("node") == "worker")
        let status = try JSONSerialization.jsonObject(with: Data(joined.payload)) as? [String: Any]
        #expect(status?["status"] as? String == "online")
        #expect(status?["node"] as? String == "worker")
        #expect((status?["plugins"] as? [[String: Any]])?.contains { $0["name"] as? String == "mqtt" } == true)
        #expect(eventually { watcher.healthDetail.contains("1 other node(s) online") })

        worker.kill(SIGKILL)
        #expect(eventually(timeout: .seconds(20)) { events.messages.contains { $0.topic == "mqtt.node.left" } })
        let left = try #require(events.messages.first { $0.topic == "mqtt.node.left" })
        #expect(left.header("node") == "worker")
        #expect(left.text.contains(#""status":"offline""#))
        #expect(eventually { watcher.healthDetail.contains("0 other node(s) online") })

        // The will is retained: a late observer sees the worker offline.
        let client = try TestClient(port: broker.port)
        try client.subscribe("jamey/nodes/worker")
        #expect(eventually { client.messages.first?.retain == true })
        #expect(client.messages.first?.text.contains(#""status":"offline""#) == true)

        let nodes = try watcher.bus.requestSync(BusMessage(topic: "mqtt.nodes"), timeout: .seconds(5))
        let list = try JSONSerialization.jsonObject(with: Data(nodes.payload)) as? [[String: Any]]
        #expect(list?.first { $0["node"] as? String == "worker" }?["online"] as? Bool == false)
    }

    @Test func cleanShutdownIsALeaveToo() throws {
        let broker = try Broker()
        let watcher = try Node("watcher2", port: broker.port)
        defer { watcher.shutdown() }
        #expect(watcher.waitReady(), "\(watcher.healthDetail)")
        let events = try watcher.collect("mqtt.node.>")
        let polite = try Node("polite", port: broker.port)
        #expect(eventually { events.messages.contains { $0.topic == "mqtt.node.joined" && $0.header("node") == "polite" } })
        polite.shutdown()
        #expect(eventually { events.messages.contains { $0.topic == "mqtt.node.left" && $0.header("node") == "polite" } })
    }
}
