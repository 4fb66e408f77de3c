/// A topic template of a bridge rule: literal text with placeholders.
///
/// - `{topic}`: the whole source topic (below the prefix, for MQTT topics), translated.
/// - `{1}` ... `{9}`: what the source pattern's n-th wildcard matched, translated.
/// - `{node}`: this node's name.
///
/// Translation turns `.` into `/` towards MQTT and `/` into `.` towards the bus (see
/// ``TopicTranslation``).
package struct TopicTemplate: Sendable, Equatable, CustomStringConvertible {
    package enum Part: Sendable, Equatable {
        case literal(String)
        case topic
        case capture(Int)
        case node
    }

    package let parts: [Part]
    /// The template as written.
    package let description: String

    /// Highest capture number used (0 when none).
    package var highestCapture: Int {
        parts.reduce(0) { highest, part in
            if case .capture(let n) = part { return max(highest, n) }
            return highest
        }
    }

    /// Parses a template.
    /// - Throws: ``MQTTError`` for an unknown or unclosed placeholder.
    package init(_ text: String) throws(MQTTError) {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw MQTTError.invalidRule("template '\(text)' has an unclosed '{'")
            }
            let name = rest[rest.index(after: open)..<close]
            let part: Part
            switch name {
            case "topic": part = .topic
            case "node": part = .node
            default:
                guard name.count == 1, let n = Int(name), n >= 1 else {
                    throw MQTTError.invalidRule(
                        "template '\(text)': unknown placeholder '{\(name)}' (use {topic}, {1}..{9} or {node})")
                }
                part = .capture(n)
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
            parts.append(part)
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if literal.contains("}") { throw MQTTError.invalidRule("template '\(text)' has a '}' without '{'") }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
        self.description = text
    }

    /// Renders an MQTT topic from a bus topic and its pattern's captures.
    package func mqttTopic(busTopic: String, captures: [String], node: String) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text): out += text
            case .topic: out += TopicTranslation.mqttTopic(fromBus: busTopic)
            case .capture(let n): out += n <= captures.count ? TopicTranslation.mqttTopic(fromBus: captures[n - 1]) : ""
            case .node: out += TopicTranslation.mqttLevel(node)
            }
        }
        return out
    }

    /// Renders a bus topic from an MQTT topic (below the prefix) and its filter's captures.
    /// Empty segments (from an empty `#` capture) are left out.
    /// - Returns: the topic, or nil when nothing is left.
    package func busTopic(mqttTopic: String, captures: [String], node: String) -> String? {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text): out += text
            case .topic: out += TopicTranslation.busTopic(fromMQTT: mqttTopic)
            case .capture(let n): out += n <= captures.count ? TopicTranslation.busTopic(fromMQTT: captures[n - 1]) : ""
            case .node: out += TopicTranslation.busSegment(node)
            }
        }
        let segments = out.split(separator: ".")
        return segments.isEmpty ? nil : segments.joined(separator: ".")
    }
}
