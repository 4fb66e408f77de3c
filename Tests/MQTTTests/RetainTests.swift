import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// An outbound rule with `retain: true` leaves the last value at the broker for late subscribers.
@Suite struct RetainTests {
    @Test func retainedRuleKeepsTheLastValue() async throws {
        let broker = try await Broker.make()
        let node = try await Node.boot(
            "retain", port: broker.port,
            config: """
                outbound:
                  - bus: "state.>"
                    retain: true
                inbound:
                  - mqtt: "state/#"
                    bus: "seen.{1}"
                    no_local: false
                """)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let seen = try node.collect("seen.>")
        try node.publish("state.door", "open")
        try node.publish("state.door", "closed")
        #expect(await eventually { seen.count == 2 })
        let late = try await TestClient.make(port: broker.port)
        try await late.subscribe("jamey/state/#")
        #expect(await eventually { late.messages.count == 1 })
        #expect(late.messages.first?.retain == true)
        #expect(late.messages.first?.text == "closed")
    }
}
