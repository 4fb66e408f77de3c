/// The syntax rules for topics and subscription patterns, shared by validation and by error
/// descriptions.
///
/// A topic is one or more non-empty segments separated by `.`, without whitespace or control
/// characters. A concrete topic (published or requested) contains no `*` or `>` at all. In a
/// pattern, `*` and `>` are allowed only as whole segments, and `>` only as the last one.
enum TopicSyntax {
    /// Why `topic` is not a valid concrete topic, or `nil` when it is.
    static func topicProblem(_ topic: String) -> String? {
        if topic.isEmpty { return "a topic must not be empty" }
        var index = 0
        for segment in topic.split(separator: ".", omittingEmptySubsequences: false) {
            index += 1
            if let problem = segmentProblem(segment, index: index) { return problem }
            if segment.contains(where: { $0 == "*" || $0 == ">" }) {
                return
                    "segment \(index) contains a wildcard ('*' or '>'); published and requested topics must be concrete"
            }
        }
        return nil
    }

    /// Why `pattern` is not a valid subscription pattern, or `nil` when it is.
    static func patternProblem(_ pattern: String) -> String? {
        if pattern.isEmpty { return "a pattern must not be empty" }
        let segments = pattern.split(separator: ".", omittingEmptySubsequences: false)
        for (offset, segment) in segments.enumerated() {
            let index = offset + 1
            if let problem = segmentProblem(segment, index: index) { return problem }
            if segment == "*" { continue }
            if segment == ">" {
                if index != segments.count { return "'>' may only be the last segment (found at segment \(index))" }
                continue
            }
            if segment.contains(where: { $0 == "*" || $0 == ">" }) {
                return "segment \(index) mixes a wildcard with other characters; '*' and '>' must be whole segments"
            }
        }
        return nil
    }

    /// The problem shared by topics and patterns: empty segments, whitespace, control characters.
    private static func segmentProblem(_ segment: Substring, index: Int) -> String? {
        if segment.isEmpty { return "segment \(index) is empty (no leading, trailing or double dots)" }
        for scalar in segment.unicodeScalars
        where scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7F {
            return "segment \(index) contains whitespace or a control character"
        }
        return nil
    }
}
