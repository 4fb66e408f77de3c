/// A compiled rule for bus requests that another node answers: the plugin responds to the bus
/// pattern and forwards each request as an MQTT 5 request.
package struct RemoteRule: Sendable {
    /// The bus pattern it answers.
    package let pattern: BusPattern
    /// The MQTT topic template.
    package let template: TopicTemplate
    /// Prefix of the MQTT topic.
    package let prefix: String
    /// QoS of the forwarded request.
    package let qos: Int32
    /// How long a forwarded request waits for its reply before it is forgotten.
    package let timeout: Duration

    /// Compiles a configured rule.
    /// - Throws: ``MQTTError`` for a malformed pattern or template.
    package init(_ rule: MQTTConfiguration.Remote, defaultPrefix: String) throws(MQTTError) {
        pattern = try BusPattern(rule.bus)
        template = try TopicTemplate(rule.mqtt)
        prefix = rule.prefix ?? defaultPrefix
        qos = Int32(rule.qos)
        timeout = .milliseconds(rule.timeoutMs)
        try template.checkForMQTT(prefix: prefix, wildcards: pattern.wildcardCount, rule: "remote '\(rule.bus)'")
    }

    /// The MQTT topic for a request's bus topic, or nil when the pattern does not match.
    package func mqttTopic(for busTopic: String, node: String) -> String? {
        guard let captures = pattern.match(busTopic) else { return nil }
        let topic = TopicTranslation.join(prefix, template.mqttTopic(busTopic: busTopic, captures: captures, node: node))
        return topic.isEmpty ? nil : topic
    }
}
