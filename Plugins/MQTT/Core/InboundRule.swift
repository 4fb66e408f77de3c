/// A compiled MQTT → bus rule: what it subscribes to and which bus topic each message gets.
package struct InboundRule: Sendable {
    /// The filter, prefix included, without any `$share/<group>/`.
    package let filter: MQTTFilter
    /// The bus topic template.
    package let template: TopicTemplate
    /// Prefix stripped from topics before `{topic}` is rendered.
    package let prefix: String
    /// Subscription QoS.
    package let qos: Int32
    /// Shared subscription group, or nil.
    package let shareGroup: String?
    /// MQTT 5 no-local option (never set on shared subscriptions, where MQTT forbids it).
    package let noLocal: Bool

    /// Compiles a configured rule.
    /// - Throws: ``MQTTError`` for a malformed filter, group or template.
    package init(_ rule: MQTTConfiguration.Inbound, defaultPrefix: String) throws(MQTTError) {
        prefix = rule.prefix ?? defaultPrefix
        filter = try MQTTFilter(TopicTranslation.join(prefix, rule.mqtt))
        template = try TopicTemplate(rule.bus)
        qos = Int32(rule.qos)
        let group = rule.shareGroup
        if group.contains(where: { $0 == "/" || $0 == "+" || $0 == "#" }) {
            throw MQTTError.invalidRule("inbound '\(rule.mqtt)': share_group '\(group)' may not contain '/', '+' or '#'")
        }
        shareGroup = group.isEmpty ? nil : group
        noLocal = rule.noLocal && group.isEmpty
        if Self.isKernelTopic(rule.bus) {
            throw MQTTError.invalidRule(
                "inbound '\(rule.mqtt)': bus topic '\(rule.bus)' is the kernel's (deploy, reload): MQTT clients may not reach it")
        }
        for part in template.parts {
            if case .literal(let text) = part, text.contains(where: { $0 == "*" || $0 == ">" }) {
                throw MQTTError.invalidRule("inbound '\(rule.mqtt)': bus topic template '\(rule.bus)' contains a wildcard")
            }
        }
        if template.highestCapture > filter.wildcardCount {
            throw MQTTError.invalidRule(
                "inbound '\(rule.mqtt)': template '\(rule.bus)' uses {\(template.highestCapture)} but the filter has \(filter.wildcardCount) wildcard(s)"
            )
        }
    }

    /// Whether `topic` is one of the kernel's (`kernel`, `kernel.…`: plugin deploys, config
    /// reloads), which an imported message may never reach.
    package static func isKernelTopic(_ topic: String) -> Bool { topic == "kernel" || topic.hasPrefix("kernel.") }

    /// What to subscribe to: the filter, behind `$share/<group>/` for a shared subscription.
    package var subscription: String {
        shareGroup.map { "$share/\($0)/\(filter)" } ?? filter.description
    }

    /// The bus topic for an MQTT topic, or nil when the filter does not match it or nothing is
    /// left of it.
    package func busTopic(for mqttTopic: String, node: String) -> String? {
        guard let captures = filter.match(mqttTopic) else { return nil }
        var relative = Substring(mqttTopic)
        if !prefix.isEmpty, mqttTopic.hasPrefix(prefix + "/") { relative = relative.dropFirst(prefix.count + 1) }
        return template.busTopic(mqttTopic: String(relative), captures: captures, node: node)
    }
}
