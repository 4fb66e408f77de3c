import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Bus headers and content type travel as MQTT 5 user properties and content type, both ways.
@Suite struct PropertiesTests {
    @Test func headersAndContentTypeSurvive() async throws {
        let broker = try await Broker.make()
        let client = try await TestClient.make(port: broker.port)
        try await client.subscribe("jamey/props/#")
        let node = try await Node.boot(
            "props", port: broker.port,
            config: """
                outbound:
                  - bus: "props.out"
                inbound:
                  - mqtt: "props/in"
                """)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let imported = try node.collect("props.in")

        try node.publish(
            "props.out", #"{"t":21}"#, contentType: "application/json", headers: ["unit": "celsius", "trace-id": "abc"])
        #expect(await eventually { client.messages(on: "jamey/props/out").count == 1 })
        let out = try #require(client.messages(on: "jamey/props/out").first)
        #expect(out.contentType == "application/json")
        #expect(out.userProperties == ["unit": "celsius", "trace-id": "abc"])

        try client.publish(
            "jamey/props/in", "x", contentType: "text/csv", userProperties: [("device", "lamp"), ("firmware", "1.2")])
        #expect(await eventually { imported.count == 1 })
        let message = try #require(imported.messages.first)
        #expect(message.contentType == "text/csv")
        #expect(message.header("device") == "lamp")
        #expect(message.header("firmware") == "1.2")
        #expect(message.header("mqtt.topic") == "jamey/props/in")

        // The gateway's word on the caller neither leaves the node nor comes in from the broker:
        // anyone who can publish there could claim an admin's scope.
        try node.publish("props.out", "y", headers: ["auth.key_id": "k1", "auth.scope": "admin", "trace-id": "t2"])
        #expect(await eventually { client.messages(on: "jamey/props/out").count == 2 })
        #expect(client.messages(on: "jamey/props/out").last?.userProperties == ["trace-id": "t2"])
        try client.publish(
            "jamey/props/in", "z", userProperties: [("auth.scope", "admin"), ("auth.key_id", "bootstrap"), ("device", "d2")])
        #expect(await eventually { imported.count == 2 })
        let forged = try #require(imported.messages.last)
        #expect(forged.header("device") == "d2")
        #expect(forged.header("auth.scope") == nil)
        #expect(forged.header("auth.key_id") == nil)
    }
}
