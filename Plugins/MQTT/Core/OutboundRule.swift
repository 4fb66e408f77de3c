/// A compiled bus → MQTT rule: which bus topics it exports and where they go.
package struct OutboundRule: Sendable {
    /// The bus pattern it subscribes to.
    package let pattern: BusPattern
    /// The MQTT topic template.
    package let template: TopicTemplate
    /// Prefix of the MQTT topic.
    package let prefix: String
    /// QoS of the publication.
    package let qos: Int32
    /// Publish retained.
    package let retain: Bool

    /// Compiles a configured rule.
    /// - Throws: ``MQTTError`` for a malformed pattern or template.
    package init(_ rule: MQTTConfiguration.Outbound, defaultPrefix: String) throws(MQTTError) {
        pattern = try BusPattern(rule.bus)
        template = try TopicTemplate(rule.mqtt)
        prefix = rule.prefix ?? defaultPrefix
        qos = Int32(rule.qos)
        retain = rule.retain
        try template.checkForMQTT(prefix: prefix, wildcards: pattern.wildcardCount, rule: "outbound '\(rule.bus)'")
    }

    /// The MQTT topic for a bus topic, or nil when the pattern does not match it.
    package func mqttTopic(for busTopic: String, node: String) -> String? {
        guard let captures = pattern.match(busTopic) else { return nil }
        let topic = TopicTranslation.join(prefix, template.mqttTopic(busTopic: busTopic, captures: captures, node: node))
        return topic.isEmpty ? nil : topic
    }
}
