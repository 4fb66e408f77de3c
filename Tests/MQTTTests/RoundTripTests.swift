import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Messages cross in both directions, at QoS 0, 1 and 2, through a real mosquitto.
@Suite struct RoundTripTests {
    static let rules = """
        outbound:
          - bus: "out.q0.>"
            qos: 0
          - bus: "out.q1.>"
            qos: 1
          - bus: "out.q2.>"
            qos: 2
        inbound:
          - mqtt: "in/q0/#"
            qos: 0
          - mqtt: "in/q1/#"
            qos: 1
          - mqtt: "in/q2/#"
            qos: 2
        """

    @Test(arguments: [0, 1, 2])
    func busToBrokerAndBrokerToBus(qos: Int) async throws {
        let broker = try await Broker.make()
        let client = try await TestClient.make(port: broker.port)
        try await client.subscribe("jamey/out/#", qos: 2)
        let node = try await Node.boot("rt", port: broker.port, config: Self.rules)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let imported = try node.collect("in.>")

        for i in 0..<20 { try node.publish("out.q\(qos).sensor.\(i % 2)", "m\(i)") }
        #expect(await eventually { client.messages(on: "jamey/out/q\(qos)/").count == 20 })
        let out = client.messages(on: "jamey/out/q\(qos)/")
        #expect(out.map(\.text) == (0..<20).map { "m\($0)" })
        #expect(out.first?.topic == "jamey/out/q\(qos)/sensor/0")
        #expect(out.allSatisfy { $0.qos == Int32(qos) })

        for i in 0..<20 { try client.publish("jamey/in/q\(qos)/room/\(i % 3)", "n\(i)", qos: Int32(qos)) }
        #expect(await eventually { imported.count == 20 })
        #expect(imported.texts == (0..<20).map { "n\($0)" })
        #expect(imported.messages.first?.topic == "in.q\(qos).room.0")
        #expect(imported.messages.first?.source == "mqtt")
        #expect(imported.messages.first?.header("mqtt.topic") == "jamey/in/q\(qos)/room/0")

        #expect(await eventually { node.metric(#"mqtt_messages_out_total{plugin="mqtt"}"#).map { $0 >= 20 } == true })
        #expect(await eventually { node.metric(#"mqtt_messages_in_total{plugin="mqtt"}"#).map { $0 >= 20 } == true })
        #expect(await eventually { node.metric(#"mqtt_bytes_out_total{plugin="mqtt"}"#).map { $0 >= 40 } == true })
        #expect(await eventually { node.metric(#"mqtt_bytes_in_total{plugin="mqtt"}"#).map { $0 >= 40 } == true })
        #expect(node.metric(#"mqtt_connected{plugin="mqtt"}"#) == 1)
        #expect(node.healthDetail.contains("connected to 127.0.0.1:\(broker.port) as jamey-rt (MQTT 5)"))
    }

    @Test func requestToAnExportedTopicWithoutResponderIsAnswered503() async throws {
        let broker = try await Broker.make()
        let node = try await Node.boot("rq", port: broker.port, config: Self.rules)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let reply = try await node.bus.request(BusMessage(topic: "out.q1.ask"), timeout: .seconds(20))
        #expect(reply.header("status") == "503")
        #expect(reply.header("jamey.error") == "no_responders")
    }

    @Test func mqtt311CarriesPayloadsWithoutProperties() async throws {
        let broker = try await Broker.make()
        let client = try await TestClient.make(port: broker.port)
        try await client.subscribe("jamey/#")
        let node = try await Node.boot("v3", port: broker.port, config: "protocol: mqttv311\n" + Self.rules)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        #expect(node.healthDetail.contains("(MQTT 3.1.1)"))
        let imported = try node.collect("in.>")
        try node.publish("out.q1.a", "hello", contentType: "text/plain", headers: ["k": "v"])
        #expect(await eventually { client.messages(on: "jamey/out/").count == 1 })
        #expect(client.messages(on: "jamey/out/").first?.userProperties.isEmpty == true)
        try client.publish("jamey/in/q1/b", "back")
        #expect(await eventually { imported.count == 1 })
        #expect(imported.messages.first?.topic == "in.q1.b")
    }
}
