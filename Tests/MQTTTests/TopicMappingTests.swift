import Foundation
import MQTTCore
import Testing

/// Bus patterns, MQTT filters, templates and the rules built from them, without a broker.
@Suite struct TopicMappingTests {
    @Test func busPatternsMatchAndCapture() throws {
        let p = try BusPattern("sensors.*.temp")
        #expect(p.match("sensors.kitchen.temp") == ["kitchen"])
        #expect(p.match("sensors.kitchen.humidity") == nil)
        #expect(p.match("sensors.kitchen.temp.c") == nil)
        let rest = try BusPattern("logs.>")
        #expect(rest.match("logs.app.error") == ["app.error"])
        #expect(rest.match("logs") == nil)
        #expect(try BusPattern("a.*.>").match("a.b.c.d") == ["b", "c.d"])
        #expect(throws: MQTTError.self) { try BusPattern("a.>.b") }
        #expect(throws: MQTTError.self) { try BusPattern("a..b") }
        #expect(throws: MQTTError.self) { try BusPattern("a.b*") }
    }

    @Test func mqttFiltersMatchAndCapture() throws {
        let f = try MQTTFilter("home/+/temp")
        #expect(f.match("home/kitchen/temp") == ["kitchen"])
        #expect(f.match("home/kitchen/temp/x") == nil)
        let all = try MQTTFilter("cmd/#")
        #expect(all.match("cmd/a/b") == ["a/b"])
        #expect(all.match("cmd") == [""])  // '#' also matches the parent level
        #expect(try MQTTFilter("#").match("$SYS/broker") == nil)  // '$' topics need an explicit first level
        #expect(throws: MQTTError.self) { try MQTTFilter("a/#/b") }
        #expect(throws: MQTTError.self) { try MQTTFilter("a/b+") }
    }

    @Test func wildcardsTranslateBothWays() throws {
        #expect(try BusPattern("sensors.*.temp").mqttFilter == "sensors/+/temp")
        #expect(try BusPattern("logs.>").mqttFilter == "logs/#")
        #expect(try MQTTFilter("home/+/light/#").busPattern == "home.*.light.>")
        // Characters with a meaning on the other side become '_'.
        #expect(TopicTranslation.busTopic(fromMQTT: "a.b/c d/*/") == "a_b.c_d._._")
        #expect(TopicTranslation.mqttTopic(fromBus: "a+b.c#") == "a_b/c_")
    }

    @Test func templatesRender() throws {
        let t = try TopicTemplate("site/{node}/{1}/{topic}")
        #expect(t.mqttTopic(busTopic: "x.y", captures: ["a.b"], node: "n1") == "site/n1/a/b/x/y")
        let b = try TopicTemplate("devices.{1}.state")
        #expect(b.busTopic(mqttTopic: "z2m/lamp/state", captures: ["lamp 1"], node: "n") == "devices.lamp_1.state")
        #expect(try TopicTemplate("cmd.{1}").busTopic(mqttTopic: "cmd", captures: [""], node: "n") == "cmd")
        #expect(try TopicTemplate("{1}").busTopic(mqttTopic: "", captures: [""], node: "n") == nil)
        #expect(throws: MQTTError.self) { try TopicTemplate("a/{topic") }
        #expect(throws: MQTTError.self) { try TopicTemplate("a/{x}") }
        #expect(throws: MQTTError.self) { try TopicTemplate("a/}") }
    }

    /// A rule as the kernel hands it over: JSON with snake_case keys.
    static func decode<T: Decodable>(_ object: [String: Any?]) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: JSONSerialization.data(withJSONObject: object.compactMapValues { $0 }))
    }

    static func outbound(_ bus: String, mqtt: String = "{topic}", prefix: String? = nil) throws -> OutboundRule {
        let rule: MQTTConfiguration.Outbound = try decode(["bus": bus, "mqtt": mqtt, "qos": 1, "retain": false, "prefix": prefix])
        return try OutboundRule(rule, defaultPrefix: "jamey")
    }

    static func inbound(_ mqtt: String, bus: String = "{topic}", group: String = "", prefix: String? = nil) throws -> InboundRule
    {
        let rule: MQTTConfiguration.Inbound = try decode([
            "mqtt": mqtt, "bus": bus, "qos": 1, "share_group": group, "no_local": true, "prefix": prefix,
        ])
        return try InboundRule(rule, defaultPrefix: "jamey")
    }

    @Test func outboundRulesApplyThePrefix() throws {
        #expect(try Self.outbound("sensors.>").mqttTopic(for: "sensors.a.b", node: "n") == "jamey/sensors/a/b")
        #expect(try Self.outbound("sensors.>", prefix: "").mqttTopic(for: "sensors.a", node: "n") == "sensors/a")
        #expect(try Self.outbound("s.*", mqtt: "t/{1}", prefix: "p/q").mqttTopic(for: "s.x", node: "n") == "p/q/t/x")
        #expect(try Self.outbound("s.*").mqttTopic(for: "other.x", node: "n") == nil)
        #expect(throws: MQTTError.self) { try Self.outbound("s.*", mqtt: "t/{2}") }
        #expect(throws: MQTTError.self) { try Self.outbound("s.*", mqtt: "t/#") }
    }

    @Test func inboundRulesStripThePrefixAndShare() throws {
        let r = try Self.inbound("jobs/#", bus: "work.{1}", group: "workers")
        #expect(r.subscription == "$share/workers/jamey/jobs/#")
        #expect(r.noLocal == false)  // MQTT forbids no-local on shared subscriptions
        #expect(r.busTopic(for: "jamey/jobs/a/b", node: "n") == "work.a.b")
        #expect(try Self.inbound("x/#").busTopic(for: "jamey/x/y", node: "n") == "x.y")
        #expect(try Self.inbound("z/+/s", prefix: "").busTopic(for: "z/d/s", node: "n") == "z.d.s")
        #expect(throws: MQTTError.self) { try Self.inbound("a", group: "g/h") }
        #expect(throws: MQTTError.self) { try Self.inbound("a/+", bus: "x.*") }
    }

    @Test func cacheRemembersMisses() {
        let cache = TopicCache(limit: 2)
        var computed = 0
        let f: (String) -> String? = {
            computed += 1; return $0 == "none" ? nil : $0.uppercased()
        }
        #expect(cache.translate("a", f) == "A")
        #expect(cache.translate("a", f) == "A")
        #expect(cache.translate("none", f) == nil)
        #expect(cache.translate("none", f) == nil)
        #expect(computed == 2)
        #expect(cache.translate("b", f) == "B")  // over the limit: starts over
        #expect(computed == 3)
    }
}
