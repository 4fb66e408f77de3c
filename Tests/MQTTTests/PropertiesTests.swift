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
    }
}
