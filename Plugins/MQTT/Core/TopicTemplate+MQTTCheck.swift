extension TopicTemplate {
    /// Checks a template that renders MQTT topics: no MQTT wildcards in its text, and no capture
    /// beyond the pattern's wildcards.
    package func checkForMQTT(prefix: String, wildcards: Int, rule: String) throws(MQTTError) {
        for part in parts {
            if case .literal(let text) = part, text.contains(where: { $0 == "+" || $0 == "#" }) {
                throw MQTTError.invalidRule("\(rule): MQTT topic template '\(description)' contains a wildcard")
            }
        }
        if prefix.contains(where: { $0 == "+" || $0 == "#" }) {
            throw MQTTError.invalidRule("\(rule): prefix '\(prefix)' contains an MQTT wildcard")
        }
        if highestCapture > wildcards {
            throw MQTTError.invalidRule(
                "\(rule): template '\(description)' uses {\(highestCapture)} but the pattern has \(wildcards) wildcard(s)")
        }
    }
}
