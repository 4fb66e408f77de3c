/// An MQTT topic filter (`sensors/+/temp`, `jobs/#`), matched level by level with the captures
/// of its wildcards: `+` captures one level, a final `#` the remaining levels (zero or more,
/// joined with `/`).
package struct MQTTFilter: Sendable, Equatable, CustomStringConvertible {
    /// The filter's levels.
    package let levels: [Substring]

    /// The filter as written.
    package var description: String { levels.joined(separator: "/") }

    /// Number of wildcards (the captures a match returns).
    package var wildcardCount: Int { levels.count { $0 == "+" || $0 == "#" } }

    /// Parses and checks a filter (without any `$share/<group>/` part).
    /// - Throws: ``MQTTError`` when `#` is not last or a wildcard shares a level with text.
    package init(_ text: String) throws(MQTTError) {
        guard !text.isEmpty else { throw MQTTError.invalidRule("MQTT filter is empty") }
        let levels = text.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            if level == "#" && index != levels.count - 1 {
                throw MQTTError.invalidRule("MQTT filter '\(text)': '#' may only be the last level")
            }
            if level != "+" && level != "#" && level.contains(where: { $0 == "+" || $0 == "#" }) {
                throw MQTTError.invalidRule("MQTT filter '\(text)': wildcards must be whole levels")
            }
        }
        self.levels = levels
    }

    /// The captures of `topic`'s match, or nil when it does not match. Following MQTT, a topic
    /// starting with `$` is not matched by a filter starting with a wildcard.
    package func match(_ topic: String) -> [String]? {
        let parts = topic.split(separator: "/", omittingEmptySubsequences: false)
        if topic.hasPrefix("$"), let first = levels.first, first == "+" || first == "#" { return nil }
        var captures: [String] = []
        for (index, level) in levels.enumerated() {
            if level == "#" {
                captures.append(index < parts.count ? parts[index...].joined(separator: "/") : "")
                return captures
            }
            guard index < parts.count else { return nil }
            if level == "+" {
                captures.append(String(parts[index]))
            } else if level != parts[index] {
                return nil
            }
        }
        return parts.count == levels.count ? captures : nil
    }

    /// The equivalent bus pattern: `/` becomes `.`, `+` becomes `*`, `#` becomes `>`.
    package var busPattern: String {
        levels.map { level -> String in
            switch level {
            case "+": "*"
            case "#": ">"
            default: TopicTranslation.busSegment(level)
            }
        }.joined(separator: ".")
    }
}
