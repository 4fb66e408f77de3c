/// The verdict on one text: a score in [−1, 1], whether it is approved, the rules that matched
/// with their contributions, and a one-line explanation.
///
/// Its JSON form (snake_case keys) is the reply of `conscience.evaluate`.
public struct Evaluation: Sendable, Equatable, Encodable {
    /// `Σ polarity·weight·coverage / Σ weight` over every rule: in [−1, 1]; 0 when nothing
    /// matched or every weight is 0.
    public let score: Double
    /// Whether `score ≥ threshold`.
    public let approved: Bool
    /// The approval threshold used.
    public let threshold: Double
    /// The rules with at least one matched keyword, largest contribution (by magnitude) first.
    public let appliedRules: [AppliedRule]
    /// One line saying why: the verdict, then each applied rule with its contribution.
    public let explanation: String

    enum CodingKeys: String, CodingKey {
        case score, approved, threshold, explanation
        case appliedRules = "applied_rules"
    }
}

/// One rule's part in an ``Evaluation``.
public struct AppliedRule: Sendable, Equatable, Encodable {
    /// The rule's name.
    public let name: String
    /// The rule's polarity.
    public let polarity: Polarity
    /// The rule's weight.
    public let weight: Double
    /// The keywords found in the text, each once.
    public let matches: [KeywordMatch]
    /// `(affirmed − negated matches) / number of keywords`, in [−1, 1].
    public let coverage: Double
    /// `polarity · weight · coverage / Σ weight of all rules`: this rule's share of the score.
    public let contribution: Double
}

/// A keyword of a rule found in the text.
public struct KeywordMatch: Sendable, Equatable, Encodable {
    /// The rule's keyword.
    public let keyword: String
    /// True when every occurrence of it was negated ("not", "never", ... shortly before it),
    /// which flips its sign; one affirmed occurrence is enough to count it as affirmed.
    public let negated: Bool

    /// - Parameters:
    ///   - keyword: the rule's keyword.
    ///   - negated: whether every occurrence was negated.
    public init(keyword: String, negated: Bool) {
        self.keyword = keyword
        self.negated = negated
    }
}
