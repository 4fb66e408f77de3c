/// The translation of single topic levels between the bus (`.`-separated, wildcards `*` `>`)
/// and MQTT (`/`-separated, wildcards `+` `#`). A character that would change the structure on
/// the other side becomes `_`: `/`, `+` and `#` in a bus segment; `.`, `*` and `>` in an MQTT
/// level, and whitespace or control characters, which bus topics do not allow. An empty MQTT
/// level becomes `_` on the bus, which has no empty segments.
package enum TopicTranslation {
    /// A bus segment as an MQTT level.
    package static func mqttLevel(_ segment: some StringProtocol) -> String {
        guard segment.contains(where: { $0 == "/" || $0 == "+" || $0 == "#" }) else { return String(segment) }
        return String(segment.map { $0 == "/" || $0 == "+" || $0 == "#" ? "_" : $0 })
    }

    /// An MQTT level as a bus segment.
    package static func busSegment(_ level: some StringProtocol) -> String {
        if level.isEmpty { return "_" }
        guard level.unicodeScalars.contains(where: isSpecialOnBus) else { return String(level) }
        var out = String.UnicodeScalarView()
        for scalar in level.unicodeScalars { out.append(isSpecialOnBus(scalar) ? "_" : scalar) }
        return String(out)
    }

    /// Characters a bus segment may not contain: `.`, the wildcards, whitespace and controls.
    private static func isSpecialOnBus(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "." || scalar == "*" || scalar == ">" || scalar.properties.isWhitespace || scalar.value < 0x20
            || scalar.value == 0x7F
    }

    /// A whole bus topic (or a `>` capture) as MQTT levels.
    package static func mqttTopic(fromBus topic: String) -> String {
        topic.split(separator: ".", omittingEmptySubsequences: false).map { mqttLevel($0) }.joined(separator: "/")
    }

    /// A whole MQTT topic (or a `#` capture) as bus segments; empty for an empty topic.
    package static func busTopic(fromMQTT topic: String) -> String {
        guard !topic.isEmpty else { return "" }
        return topic.split(separator: "/", omittingEmptySubsequences: false).map { busSegment($0) }.joined(separator: ".")
    }

    /// `prefix/topic`, or `topic` alone when the prefix is empty.
    package static func join(_ prefix: String, _ topic: String) -> String {
        prefix.isEmpty ? topic : topic.isEmpty ? prefix : prefix + "/" + topic
    }
}
