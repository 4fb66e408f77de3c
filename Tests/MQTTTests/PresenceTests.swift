import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Presence: each node publishes a retained status with a last will; the others see it join and
/// leave and publish that on their bus.
@Suite struct PresenceTests {
    @Test func secondNodeSeesTheFirstJoinAndLeaveWhenKilled() async throws {
        let broker = try await Broker.make()
        let watcher = try await Node.boot("watcher", port: broker.port)
        #expect(await watcher.waitReady(), "\(watcher.healthDetail)")
        let events = try watcher.collect("mqtt.node.>")

        let worker = try ServeProcess("worker", port: broker.port)
        try await worker.waitReady()
        #expect(
            await eventually(timeout: .seconds(20)) { events.messages.contains { $0.topic == "mqtt.node.joined" } },
            "\(worker.log)")
        let joined = try #require(events.messages.first { $0.topic == "mqtt.node.joined" })
        #expect(joined.header("node") == "worker")
        let status = try JSONSerialization.jsonObject(with: Data(joined.payload)) as? [String: Any]
        #expect(status?["status"] as? String == "online")
        #expect(status?["node"] as? String == "worker")
        #expect((status?["plugins"] as? [[String: Any]])?.contains { $0["name"] as? String == "mqtt" } == true)
        #expect(await eventually { watcher.healthDetail.contains("1 other node(s) online") })

        await worker.kill(SIGKILL)
        #expect(await eventually(timeout: .seconds(20)) { events.messages.contains { $0.topic == "mqtt.node.left" } })
        let left = try #require(events.messages.first { $0.topic == "mqtt.node.left" })
        #expect(left.header("node") == "worker")
        #expect(left.text.contains(#""status":"offline""#))
        #expect(await eventually { watcher.healthDetail.contains("0 other node(s) online") })

        // The will is retained: a late observer sees the worker offline.
        let client = try await TestClient.make(port: broker.port)
        try await client.subscribe("jamey/nodes/worker")
        #expect(await eventually { client.messages.first?.retain == true })
        #expect(client.messages.first?.text.contains(#""status":"offline""#) == true)

        let nodes = try await watcher.bus.request(BusMessage(topic: "mqtt.nodes"), timeout: .seconds(20))
        let list = try JSONSerialization.jsonObject(with: Data(nodes.payload)) as? [[String: Any]]
        #expect(list?.first { $0["node"] as? String == "worker" }?["online"] as? Bool == false)
    }

    /// A node that dies while a broker without persistence is down sends no will and leaves no
    /// retained status: once the others resubscribe, the broker no longer knows it, and it leaves
    /// their view (it stayed "online" for good, counted in mqtt_nodes_online).
    @Test func aNodeTheRestartedBrokerNoLongerKnowsLeaves() async throws {
        let broker = try await Broker.make()
        let watcher = try await Node.boot("watcher3", port: broker.port)
        #expect(await watcher.waitReady(), "\(watcher.healthDetail)")
        let events = try watcher.collect("mqtt.node.>")
        let worker = try ServeProcess("vanished", port: broker.port)
        try await worker.waitReady()
        #expect(await eventually(timeout: .seconds(30)) { watcher.healthDetail.contains("1 other node(s) online") })
        await broker.stop(signal: SIGKILL)
        await worker.kill(SIGKILL)
        try await broker.restart()
        let left = await eventually(timeout: .seconds(60)) {
            events.messages.contains { $0.topic == "mqtt.node.left" && $0.header("node") == "vanished" }
        }
        #expect(left, "\(watcher.healthDetail)")
        #expect(await eventually(timeout: .seconds(30)) { watcher.healthDetail.contains("0 other node(s) online") })
    }

    @Test func cleanShutdownIsALeaveToo() async throws {
        let broker = try await Broker.make()
        let watcher = try await Node.boot("watcher2", port: broker.port)
        #expect(await watcher.waitReady(), "\(watcher.healthDetail)")
        let events = try watcher.collect("mqtt.node.>")
        let polite = try await Node.boot("polite", port: broker.port)
        #expect(await eventually { events.messages.contains { $0.topic == "mqtt.node.joined" && $0.header("node") == "polite" } })
        await polite.stop()
        #expect(await eventually { events.messages.contains { $0.topic == "mqtt.node.left" && $0.header("node") == "polite" } })
    }

    /// The nodes a node knows are bounded: a status cleared on the broker (an empty retained
    /// message) forgets the node, and past 1 024 names a new one takes the place of the node
    /// offline longest. Every name ever seen on the presence topic was kept, with its last status.
    @Test func theNodesKnownAreBoundedAndAClearedStatusIsForgotten() async throws {
        let broker = try await Broker.make()
        let watcher = try await Node.boot("watcher3", port: broker.port)
        #expect(await watcher.waitReady(), "\(watcher.healthDetail)")
        let client = try await TestClient.make(port: broker.port)
        func known() async throws -> [String] {
            let reply = try await watcher.bus.request(BusMessage(topic: "mqtt.nodes"), timeout: .seconds(20))
            let list = try JSONSerialization.jsonObject(with: Data(reply.payload)) as? [[String: Any]] ?? []
            return list.compactMap { $0["node"] as? String }
        }
        try client.publish("jamey/nodes/ghost", #"{"node":"ghost","id":"g","status":"offline"}"#, retain: true)
        #expect(try await eventually(timeout: .seconds(20)) { try await known().contains("ghost") })
        try client.publish("jamey/nodes/ghost", "", retain: true)
        #expect(try await eventually(timeout: .seconds(20)) { try await !known().contains("ghost") }, "forgotten")
        for i in 0..<1100 {
            try client.publish("jamey/nodes/n\(i)", #"{"node":"n\#(i)","id":"x","status":"offline"}"#, qos: 0)
        }
        #expect(try await eventually(timeout: .seconds(30)) { try await known().contains("n1099") })
        let names = try await known()
        #expect(names.count <= 1024)
        #expect(!names.contains("n0"), "the node offline longest made room")
    }
}
