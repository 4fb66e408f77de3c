/// Which way a rule pulls the score: a virtue's keywords raise it, a prohibition's lower it.
public enum Polarity: String, Sendable, Codable, CaseIterable {
    /// Matching the rule's keywords is good: its contribution is positive (+1).
    case virtue
    /// Matching the rule's keywords is bad: its contribution is negative (−1).
    case prohibition

    /// +1 for a virtue, −1 for a prohibition.
    public var sign: Double { self == .virtue ? 1 : -1 }
}
