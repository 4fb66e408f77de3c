import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Anyone who can publish to the broker is no admin: an inbound rule never carries a message onto
/// a topic that needs an admin key through the gateway (the kernel's, where a deploy loads any
/// library; an admin route's, such as a vault restore). Before, a rule as broad as `#` did.
@Suite struct AdminTopicTests {
    /// A C plugin declaring an admin route (guarded.wipe) and a write one (guarded.note).
    static func guarded() throws -> String {
        var guarded = CPluginSource(name: "guarded")
        guarded.routes = [
            #"{sizeof(jamey_route), 0, "POST", "/v1/guarded/wipe", "guarded.wipe", "admin", "Wipe everything", "guardedWipe", NULL, NULL, NULL}"#,
            #"{sizeof(jamey_route), 0, "POST", "/v1/guarded/note", "guarded.note", "write", "Take a note", "guardedNote", NULL, NULL, NULL}"#,
        ]
        return try TestPlugins.buildC(name: "guarded", source: guarded.render())
    }

    @Test func importedMessagesNeverReachTheKernelsOrAnAdminRoutesTopic() async throws {
        let broker = try await Broker.make()
        let client = try await TestClient.make(port: broker.port)
        let library = try Self.guarded()
        let node = try await Node.boot(
            "guard", port: broker.port, config: "inbound:\n  - mqtt: \"ops/#\"\n    bus: \"{1}\"",
            besides: [("guarded", library)])
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let kernel = try node.collect("kernel.>")
        let wipe = try node.collect("guarded.wipe")
        let note = try node.collect("guarded.note")
        try client.publish("jamey/ops/kernel/plugins/deploy", #"{"path":"/tmp/evil.so"}"#)
        try client.publish("jamey/ops/guarded/wipe", "all")
        try client.publish("jamey/ops/guarded/note", "fine")
        #expect(await eventually { note.count == 1 }, "a write route's topic is reached")
        #expect(await eventually { node.metric(#"mqtt_dropped_total{plugin="mqtt",reason="admin"}"#) == 2 })
        #expect(kernel.count == 0, "a kernel topic was reached from MQTT")
        #expect(wipe.count == 0, "an admin route's topic was reached from MQTT")
    }

    /// Another node's request (a remote rule) onto a guarded topic is answered 403 at once,
    /// where it waited out the rule's timeout.
    @Test func aRemoteRequestOntoAnAdminTopicIsAnswered403AtOnce() async throws {
        let broker = try await Broker.make()
        let front = try await Node.boot(
            "front", port: broker.port, config: "remote:\n  - bus: \"guarded.>\"\n    timeout_ms: 30000")
        let open = try await Node.boot(
            "open", port: broker.port, config: "inbound:\n  - mqtt: \"#\"\n    bus: \"{1}\"",
            besides: [("guarded", try Self.guarded())])
        #expect(await front.waitReady(), "\(front.healthDetail)")
        #expect(await open.waitReady(), "\(open.healthDetail)")
        let started = ContinuousClock.now
        let reply = try await front.bus.request(BusMessage(topic: "guarded.wipe"), timeout: .seconds(40))
        #expect(reply.header("status") == "403", "\(reply.text)")
        #expect(reply.header("jamey.error") == "forbidden")
        #expect(ContinuousClock.now - started < .seconds(20), "answered at once, not at the rule's timeout")
    }

    @Test func aRuleOntoAKernelTopicIsRefusedAtStart() async throws {
        let node = try await Node.boot("cfg", port: 1, config: "inbound:\n  - mqtt: \"x/#\"\n    bus: \"kernel.config.reload\"")
        #expect(node.plugin?.failure?.contains("is the kernel's") == true, "\(node.plugin?.failure ?? "started")")
    }
}
