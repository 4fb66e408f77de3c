import JameyIsolationWire

/// A parsed subscription pattern: dotted segments where `*` matches exactly one segment and a
/// final `>` matches one or more remaining segments.
///
/// `a.*` matches `a.b` but not `a.b.c`; `a.>` matches `a.b` and `a.b.c` but not `a`.
public struct TopicPattern: Sendable, Hashable, CustomStringConvertible {
    /// One parsed segment.
    enum Segment: Sendable, Hashable {
        case literal(String)
        case one
        case rest
    }

    /// The pattern as written.
    public let description: String
    let segments: [Segment]

    /// Parses a pattern.
    /// - Parameter text: The pattern, e.g. `sensors.*.temp` or `sensors.>`.
    /// - Throws: ``BusError/invalidPattern(_:)`` naming `text` when it is malformed.
    public init(_ text: String) throws(BusError) {
        guard TopicSyntax.patternProblem(text) == nil else { throw .invalidPattern(text) }
        self.description = text
        self.segments = text.split(separator: ".", omittingEmptySubsequences: false).map { segment in
            switch segment {
            case "*": .one
            case ">": .rest
            default: .literal(String(segment))
            }
        }
    }

    /// Whether the concrete `topic` matches this pattern. An invalid topic matches nothing.
    /// - Parameter topic: A concrete topic.
    public func matches(_ topic: String) -> Bool {
        guard TopicSyntax.topicProblem(topic) == nil else { return false }
        return matches(segments: topic.split(separator: ".", omittingEmptySubsequences: false))
    }

    /// Whether the already split, already validated topic matches.
    func matches(segments topic: [Substring]) -> Bool {
        var position = 0
        for segment in segments {
            switch segment {
            case .rest:
                return topic.count > position
            case .one:
                guard position < topic.count else { return false }
            case .literal(let literal):
                guard position < topic.count, topic[position] == literal else { return false }
            }
            position += 1
        }
        return position == topic.count
    }

    /// Checks that `topic` is a valid concrete topic (no wildcards).
    /// - Parameter topic: The topic to check.
    /// - Throws: ``BusError/invalidTopic(_:)`` naming `topic` when it is not.
    public static func validate(topic: String) throws(BusError) {
        guard TopicSyntax.topicProblem(topic) == nil else { throw .invalidTopic(topic) }
    }
}
