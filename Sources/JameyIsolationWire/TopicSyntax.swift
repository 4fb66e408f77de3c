/// The syntax rules for topics and subscription patterns, shared by validation and by error
/// descriptions, in the kernel and in jamey-plugin-runner (which checks an isolated plugin's
/// topics itself, to answer as the kernel does without a round trip).
///
/// A topic is one or more non-empty segments separated by `.`, without whitespace or control
/// characters. A concrete topic (published or requested) contains no `*` or `>` at all. In a
/// pattern, `*` and `>` are allowed only as whole segments, and `>` only as the last one.
public enum TopicSyntax {
    /// Why `topic` is not a valid concrete topic, or `nil` when it is.
    public static func topicProblem(_ topic: String) -> String? {
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

    /// Whether the C string `topic` is a valid concrete topic (``topicProblem(_:)`` is nil), read
    /// on its bytes while they are ASCII, so the usual topic costs no `String`.
    public static func isConcrete(_ topic: UnsafePointer<CChar>) -> Bool {
        var segment = 0
        var index = 0
        while true {
            let byte = UInt8(bitPattern: topic[index])
            switch byte {
            case 0: return segment > 0
            case UInt8(ascii: "."):
                guard segment > 0 else { return false }
                segment = 0
            case UInt8(ascii: "*"), UInt8(ascii: ">"), 0x7F, 0x01...0x20: return false
            case 0x80...: return topicProblem(String(cString: topic)) == nil
            default: segment += 1
            }
            index += 1
        }
    }

    /// Why `pattern` is not a valid subscription pattern, or `nil` when it is.
    public static func patternProblem(_ pattern: String) -> String? {
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
