/// A bus subscription pattern (`sensors.*.temp`, `billing.>`), matched segment by segment with
/// the captures of its wildcards: `*` captures one segment, a final `>` the remaining segments
/// (one or more, joined with `.`).
package struct BusPattern: Sendable, Equatable, CustomStringConvertible {
    /// The pattern's segments.
    package let segments: [Substring]

    /// The pattern as written.
    package var description: String { segments.joined(separator: ".") }

    /// Number of wildcards (the captures a match returns).
    package var wildcardCount: Int { segments.count { $0 == "*" || $0 == ">" } }

    /// Parses and checks a pattern.
    /// - Throws: ``MQTTError`` when a segment is empty or `>` is not last.
    package init(_ text: String) throws(MQTTError) {
        let segments = text.split(separator: ".", omittingEmptySubsequences: false)
        for (index, segment) in segments.enumerated() {
            guard !segment.isEmpty else { throw MQTTError.invalidRule("bus pattern '\(text)' has an empty segment") }
            if segment == ">" && index != segments.count - 1 {
                throw MQTTError.invalidRule("bus pattern '\(text)': '>' may only be the last segment")
            }
            if segment != "*" && segment != ">" && segment.contains(where: { $0 == "*" || $0 == ">" }) {
                throw MQTTError.invalidRule("bus pattern '\(text)': wildcards must be whole segments")
            }
        }
        self.segments = segments
    }

    /// The captures of `topic`'s match, or nil when it does not match.
    package func match(_ topic: String) -> [String]? {
        let parts = topic.split(separator: ".", omittingEmptySubsequences: false)
        var captures: [String] = []
        for (index, segment) in segments.enumerated() {
            if segment == ">" {
                guard parts.count > index else { return nil }
                captures.append(parts[index...].joined(separator: "."))
                return captures
            }
            guard index < parts.count else { return nil }
            if segment == "*" {
                captures.append(String(parts[index]))
            } else if segment != parts[index] {
                return nil
            }
        }
        return parts.count == segments.count ? captures : nil
    }

    /// The equivalent MQTT filter: `.` becomes `/`, `*` becomes `+`, `>` becomes `#`.
    package var mqttFilter: String {
        segments.map { segment -> String in
            switch segment {
            case "*": "+"
            case ">": "#"
            default: TopicTranslation.mqttLevel(segment)
            }
        }.joined(separator: "/")
    }
}
