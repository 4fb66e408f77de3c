/// Jamey 3.0's global-workspace priority (its §4.3), with its defects fixed: lengths count
/// characters (Unicode scalars), not bytes; an empty text never reaches it (so no 0/0 NaN); and
/// there is no cache keyed by a 64-bit hash (computing the parts costs about what hashing the text
/// would, so nothing is cached and no collision can return another text's priority).
///
/// ```
/// length     = min(characters / max_length, 1)                       max_length = 100
/// uniqueness = distinct words / words                                words split on whitespace, case kept
/// special    = characters that are not letters or digits (spaces too) / characters
/// complexity = min((uniqueness + special) / 2, 1)
/// novelty    = 1 − JaroWinkler(text, current broadcast), 1 with none
/// urgency    = min(exclamations/3 + (keyword ? 0.5 : 0), 1)           keyword: urgent, important, critical, emergency
/// priority   = min(0.3·length + 0.3·complexity + 0.2·novelty + 0.2·urgency, 1)
/// ```
public struct Priority: Sendable, Equatable, Encodable {
    /// The urgency keywords (found as substrings of the lower-cased text, as in Jamey 3.0).
    public static let keywords = ["urgent", "important", "critical", "emergency"]
    /// The weights of length, complexity, novelty and urgency.
    public static let weights = (length: 0.3, complexity: 0.3, novelty: 0.2, urgency: 0.2)

    /// `min(characters / max_length, 1)`.
    public let length: Double
    /// Distinct words / words.
    public let uniqueness: Double
    /// Characters that are not letters or digits / characters.
    public let special: Double
    /// `min((uniqueness + special) / 2, 1)`.
    public let complexity: Double
    /// `1 − JaroWinkler(text, current broadcast)`; 1 with none.
    public let novelty: Double
    /// `min(exclamations / 3 + 0.5 · keyword, 1)`.
    public let urgency: Double
    /// The weighted sum, in [0, 1].
    public let value: Double

    /// The parts that depend on the text alone (novelty is added under the workspace's lock).
    struct TextParts: Sendable {
        let length: Double
        let uniqueness: Double
        let special: Double
        let urgency: Double
    }

    /// The text-only parts of `input`'s priority.
    static func parts(of input: TextInput, maxLength: Double) -> TextParts {
        let scalars = input.scalars
        let count = Double(scalars.count)
        var special = 0
        var exclamations = 0
        for scalar in scalars {
            if !scalar.isLetterOrDigit { special += 1 }
            if scalar == "!" { exclamations += 1 }
        }
        let keyword = keywordScalars.contains { Self.contains(scalars, $0) }
        let urgency = min(Double(exclamations) / 3 + (keyword ? 0.5 : 0), 1)
        return TextParts(
            length: min(count / maxLength, 1), uniqueness: uniqueness(input),
            special: count > 0 ? Double(special) / count : 0, urgency: urgency)
    }

    static let keywordScalars = keywords.map { Array($0.unicodeScalars) }

    /// Whether the lower-cased `text` contains `word` (lower case).
    static func contains(_ text: [Unicode.Scalar], _ word: [Unicode.Scalar]) -> Bool {
        guard text.count >= word.count, let first = word.first else { return false }
        var i = 0
        while i + word.count <= text.count {
            if text[i].lowercased == first {
                var j = 1
                while j < word.count && text[i + j].lowercased == word[j] { j += 1 }
                if j == word.count { return true }
            }
            i += 1
        }
        return false
    }

    /// Distinct words / words (case kept, as written).
    static func uniqueness(_ input: TextInput) -> Double {
        let words = input.words
        guard !words.isEmpty else { return 0 }
        let scalars = input.scalars
        if words.count > 64 {
            return Double(Set(words.map { scalars[$0] }).count) / Double(words.count)
        }
        var distinct = 0
        for (i, word) in words.enumerated() {
            let seen = words[..<i].contains { scalars[$0].elementsEqual(scalars[word]) }
            if !seen { distinct += 1 }
        }
        return Double(distinct) / Double(words.count)
    }

    /// Combines the text's parts with its novelty.
    init(_ parts: TextParts, novelty: Double) {
        length = parts.length
        uniqueness = parts.uniqueness
        special = parts.special
        complexity = min((parts.uniqueness + parts.special) / 2, 1)
        self.novelty = novelty
        urgency = parts.urgency
        let w = Self.weights
        value = min(w.length * length + w.complexity * complexity + w.novelty * novelty + w.urgency * urgency, 1)
    }
}
