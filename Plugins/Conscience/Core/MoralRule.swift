/// A moral rule: a named set of keywords that raise (virtue) or lower (prohibition) the score of
/// a text mentioning them, with a weight from 0 to 10.
///
/// Build one with ``init(name:description:keywords:weight:polarity:)``, which validates and
/// normalises every field; the JSON form is
/// `{"name","description","keywords","weight","polarity"}`.
public struct MoralRule: Sendable, Equatable, Codable {
    /// Unique name: 1 to 64 characters, lower-case letters, digits, `-`, `_` and `.`, starting
    /// with a letter or digit (`no-harm`).
    public let name: String
    /// What the rule means, for people (1 to 500 characters).
    public let description: String
    /// Words that trigger the rule (1 to 32, lower case, each one content word; no two with the
    /// same stem). Matched on whole words after stemming.
    public let keywords: [String]
    /// Importance from 0 to 10.
    public let weight: Double
    /// Whether a match raises or lowers the score.
    public let polarity: Polarity

    /// Longest name.
    public static let maxNameLength = 64
    /// Longest description.
    public static let maxDescriptionLength = 500
    /// Most keywords.
    public static let maxKeywords = 32
    /// Longest keyword.
    public static let maxKeywordLength = 64
    /// The weight range.
    public static let weightRange: ClosedRange<Double> = 0...10

    /// Validates and normalises a rule.
    /// - Parameters:
    ///   - name: the unique name.
    ///   - description: what it means.
    ///   - keywords: trigger words; empty: the content words of `description` (stopwords and
    ///     negators dropped, one per stem), as Jamey 3.0 matched a rule's description.
    ///   - weight: 0 to 10.
    ///   - polarity: virtue or prohibition.
    /// - Throws: ``ConscienceError`` `.invalid` naming the field and what was expected.
    public init(name: String, description: String, keywords: [String] = [], weight: Double, polarity: Polarity)
        throws(ConscienceError)
    {
        try Self.check(name: name)
        // Counted in code points before trimming, as the schemas' `maxLength` counts.
        let given = description.unicodeScalars.count
        let description = description.trimmedWhitespace
        guard !description.isEmpty, given <= Self.maxDescriptionLength else {
            throw ConscienceError(
                .invalid,
                "description: expected 1 to \(Self.maxDescriptionLength) characters, found \(description.isEmpty ? 0 : given)")
        }
        guard description.unicodeScalars.allSatisfy({ !TextCheck.isForbidden($0) }) else {
            throw ConscienceError(.invalid, "description: control characters are not allowed")
        }
        guard weight.isFinite, Self.weightRange.contains(weight) else {
            throw ConscienceError(.invalid, "weight: expected a number from 0 to 10, found \(weight)")
        }
        self.name = name
        self.description = description
        self.keywords = try keywords.isEmpty ? Self.derivedKeywords(description) : Self.normalised(keywords)
        self.weight = weight
        self.polarity = polarity
    }

    /// A rule as it was stored, when it passed the checks of its day: its description and
    /// keywords are taken as they are, without today's limits (descriptions counted Characters
    /// before they counted code points, so one of 500 Characters can be 600 code points, and the
    /// rule then vanished from every read while its name still refused a create). The name and
    /// the weight, which the evaluation relies on, are still checked.
    /// - Throws: ``ConscienceError`` `.invalid` for a bad name or weight.
    public init(stored name: String, description: String, keywords: [String], weight: Double, polarity: Polarity)
        throws(ConscienceError)
    {
        try Self.check(name: name)
        guard weight.isFinite, Self.weightRange.contains(weight) else {
            throw ConscienceError(.invalid, "weight: expected a number from 0 to 10, found \(weight)")
        }
        self.name = name
        self.description = description
        self.keywords = keywords
        self.weight = weight
        self.polarity = polarity
    }

    /// Checks a rule name.
    /// - Throws: ``ConscienceError`` `.invalid` saying what a name may contain.
    public static func check(name: String) throws(ConscienceError) {
        let allowed = name.unicodeScalars.allSatisfy { s in
            ("a"..."z").contains(s) || ("0"..."9").contains(s) || s == "-" || s == "_" || s == "."
        }
        guard !name.isEmpty, name.count <= maxNameLength, allowed, name.first != "-", name.first != "_", name.first != "."
        else {
            throw ConscienceError(
                .invalid,
                "name: expected 1 to \(maxNameLength) lower-case letters, digits, '-', '_' or '.', starting with a letter or digit, found '\(String(name.prefix(80)))'"
            )
        }
    }
}
