import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// What the bridge imported is never exported back, even when a node imports exactly what it
/// exports (no_local off), so one message crosses once.
@Suite struct LoopPreventionTests {
    @Test func importedMessagesAreNotExportedAgain() async throws {
        let broker = try await Broker.make()
        let client = try await TestClient.make(port: broker.port)
        try await client.subscribe("jamey/echo/#")
        let node = try await Node.boot(
            "echo", port: broker.port,
            config: """
                outbound:
                  - bus: "echo.>"
                inbound:
                  - mqtt: "echo/#"
                    no_local: false
                """)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let onBus = try node.collect("echo.>")

        try node.publish("echo.a", "once")
        // The node receives its own export back and puts it on the bus, from source "mqtt".
        #expect(await eventually { onBus.messages.contains { $0.source == "mqtt" && $0.text == "once" } })
        // Barrier: more round trips through the same connection and broker. Had the import been
        // exported again, each copy would have come back before these did.
        for i in 0..<3 {
            try node.publish("echo.barrier", "b\(i)")
            #expect(await eventually { onBus.messages.contains { $0.source == "mqtt" && $0.text == "b\(i)" } })
        }
        // The test client has its own connection and may lag the node's: it is a barrier only
        // once it has the last barrier message too (the broker keeps per-connection order).
        #expect(await eventually { client.messages(on: "jamey/echo/barrier").count == 3 })
        #expect(client.messages(on: "jamey/echo/a").count == 1)
        #expect(onBus.messages.filter { $0.text == "once" }.map(\.source).sorted() == ["mqtt", "test"])
    }

    @Test func noLocalKeepsOwnExportsOffTheBus() async throws {
        let broker = try await Broker.make()
        let client = try await TestClient.make(port: broker.port)
        try await client.subscribe("jamey/echo/#")
        let node = try await Node.boot(
            "quiet", port: broker.port,
            config: """
                outbound:
                  - bus: "echo.>"
                inbound:
                  - mqtt: "echo/#"
                """)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let onBus = try node.collect("echo.>")
        try node.publish("echo.mine", "local")
        #expect(await eventually { client.messages(on: "jamey/echo/mine").count == 1 })
        try client.publish("jamey/echo/theirs", "remote")
        #expect(await eventually { onBus.messages.contains { $0.text == "remote" } })
        // The broker had routed "local" before "remote" and delivers in order per connection:
        // without no-local it would have arrived first.
        #expect(onBus.messages.filter { $0.source == "mqtt" }.map(\.text) == ["remote"])
    }
}
