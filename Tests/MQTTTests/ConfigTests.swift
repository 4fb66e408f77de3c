import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Configuration mistakes fail the plugin's init with a sentence naming the problem.
@Suite struct ConfigTests {
    func failure(_ config: String) async throws -> String {
        let node = try await Node.boot("cfg", port: 1, config: config)
        return node.plugin?.failure ?? ""
    }

    @Test func badRulesAreNamed() async throws {
        #expect(try await failure("outbound:\n  - bus: \"a.>.b\"").contains("'>' may only be the last segment"))
        #expect(
            try await failure("outbound:\n  - bus: \"a.*\"\n    mqtt: \"x/{2}\"").contains(
                "uses {2} but the pattern has 1 wildcard(s)"))
        #expect(try await failure("outbound:\n  - bus: \"a.b\"\n    mqtt: \"x/+\"").contains("contains a wildcard"))
        #expect(try await failure("inbound:\n  - mqtt: \"a/#/b\"").contains("'#' may only be the last level"))
        #expect(try await failure("inbound:\n  - mqtt: \"a/+\"\n    bus: \"x.{name}\"").contains("unknown placeholder '{name}'"))
        #expect(try await failure("inbound:\n  - mqtt: \"a\"\n    share_group: \"a/b\"").contains("share_group"))
    }

    @Test func aReconnectDelayThatShrinksIsRefused() async throws {
        let node = try await Node.boot(
            "cfg", port: 1, config: "reconnect:\n  initial_delay_ms: 5000\n  max_delay_ms: 1000", reconnect: false)
        let text = node.plugin?.failure ?? ""
        #expect(text.contains("reconnect.max_delay_ms (1000) is below initial_delay_ms (5000)"), "\(text)")
    }

    @Test func remoteRulesNeedMQTT5() async throws {
        #expect(try await failure("protocol: mqttv311\nremote:\n  - bus: \"x.>\"").contains("remote needs protocol mqttv5"))
    }

    @Test func schemaErrorsComeFromTheKernel() async throws {
        let text = try await failure("qos_default: 1\nprotocol: mqttv4")
        #expect(text.contains("plugins.mqtt.config.qos_default"), "\(text)")
        #expect(text.contains("plugins.mqtt.config.protocol"), "\(text)")
    }

    @Test func passwordIsSecret() async throws {
        let lib = try TestPlugins.library("MQTT")
        let r = try Run.command(TestPlugins.buildDirectory + "/jamey", ["plugins", "inspect", lib])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("name:        mqtt"))
        #expect(r.stdout.contains("  password: string, secret, default <redacted>"), "\(r.stdout)")
        #expect(r.stdout.contains("  outbound: object_list"), "\(r.stdout)")
        #expect(r.stdout.contains("/v1/mqtt/status"), "\(r.stdout)")
    }
}
