import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Topic mapping: `.` and `/`, wildcard captures in templates, the global and per-rule prefix,
/// `{node}`, and characters one side does not allow.
@Suite struct MappingTests {
    @Test func templatesCapturesAndPrefixes() async throws {
        let broker = try await Broker.make()
        let client = try await TestClient.make(port: broker.port)
        try await client.subscribe("#")
        let node = try await Node.boot(
            "map", port: broker.port,
            config: """
                prefix: site1
                outbound:
                  - bus: "sensors.*.temp"
                    mqtt: "temperature/{1}/{node}"
                  - bus: "logs.>"
                    mqtt: "raw/{1}"
                    prefix: ""
                  - bus: "plain.>"
                inbound:
                  - mqtt: "zigbee2mqtt/+/set"
                    bus: "devices.{1}.set"
                    prefix: ""
                  - mqtt: "cmd/#"
                    bus: "commands.{1}"
                  - mqtt: "whole/#"
                """)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let devices = try node.collect("devices.>")
        let commands = try node.collect("commands.>")
        let commandsRoot = try node.collect("commands")
        let whole = try node.collect("whole.>")

        try node.publish("sensors.kitchen.temp", "21")
        try node.publish("sensors.kitchen.humidity", "40")  // no rule matches
        try node.publish("logs.app.error", "boom")
        try node.publish("plain.a.b", "p")
        let expected: Set = ["site1/temperature/kitchen/map", "raw/app/error", "site1/plain/a/b"]
        #expect(await eventually { expected.isSubset(of: Set(client.messages.map(\.topic))) })
        let topics = Set(client.messages.map(\.topic))
        #expect(topics.contains("site1/temperature/kitchen/map"))
        #expect(topics.contains("raw/app/error"))
        #expect(topics.contains("site1/plain/a/b"))
        #expect(!topics.contains { $0.contains("humidity") })

        try client.publish("zigbee2mqtt/lamp 1.kitchen/set", "on")
        try client.publish("site1/cmd/reboot/now", "x")
        try client.publish("site1/cmd", "empty capture")
        try client.publish("site1/whole/a//b", "w")
        #expect(await eventually { devices.count == 1 && commands.count == 1 && commandsRoot.count == 1 && whole.count == 1 })
        // A level with a space and a dot becomes one bus segment with '_'.
        #expect(devices.messages.first?.topic == "devices.lamp_1_kitchen.set")
        #expect(commands.messages.first?.topic == "commands.reboot.now")
        // An empty '#' capture leaves no empty segment behind.
        #expect(commandsRoot.messages.first?.text == "empty capture")
        // {topic} is the MQTT topic below the prefix; an empty level becomes '_'.
        #expect(whole.messages.first?.topic == "whole.a._.b")

        let status = try node.status()
        let inbound = status["inbound"] as? [[String: Any]]
        #expect(inbound?.first?["bus_pattern"] as? String == "zigbee2mqtt.*.set")
        #expect(inbound?.first?["mqtt"] as? String == "zigbee2mqtt/+/set")
    }
}
