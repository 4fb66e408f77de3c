/// The conscience engine: a set of ``MoralRule``s and the ``evaluate(_:)`` algorithm. A value
/// type; build a new one when the rules change (the plugin keeps the current one behind a lock).
///
/// The algorithm, with every number explainable:
///
/// 1. The text is split into ``Token``s (lower case, punctuation dropped, stopwords dropped,
///    light stemming by ``Stemmer``).
/// 2. A negator ("not", "never", "don't", ...) flips the matches of the next
///    ``ConscienceSettings/negationWindow`` content words of its clause; two negators cancel.
/// 3. For each rule, each keyword found (by stem, as a whole word) counts once: +1 when at least
///    one occurrence is affirmed, −1 when all are negated. `coverage = Σ / number of keywords`.
/// 4. `contribution = polarity · weight · coverage / Σ weight of all rules` (polarity +1 for a
///    virtue, −1 for a prohibition), and `score = Σ contribution ∈ [−1, 1]`.
/// 5. `approved = score ≥ threshold`.
public struct ConscienceEngine: Sendable {
    /// The rules, in the order given.
    public let rules: [MoralRule]
    /// Threshold, negation window and text limit.
    public let settings: ConscienceSettings
    private let compiled: [(rule: MoralRule, stems: [String])]
    private let totalWeight: Double

    /// - Parameters:
    ///   - rules: the rules (names should be unique; each is applied once).
    ///   - settings: threshold, negation window and text limit.
    public init(rules: [MoralRule], settings: ConscienceSettings = .defaults) {
        self.rules = rules
        self.settings = settings
        compiled = rules.map { rule in (rule, rule.keywords.map(Stemmer.stem)) }
        totalWeight = rules.reduce(0) { $0 + $1.weight }
    }

    /// Evaluates a text against every rule.
    /// - Parameter text: the text (1 to ``ConscienceSettings/maxTextLength`` characters, no
    ///   control characters but tab and line breaks).
    /// - Returns: the score, verdict, applied rules and explanation.
    /// - Throws: ``ConscienceError`` `.invalid` for a text ``TextCheck`` refuses.
    public func evaluate(_ text: String) throws(ConscienceError) -> Evaluation {
        try TextCheck.check(text, maxLength: settings.maxTextLength)
        let found = Self.occurrences(in: Tokenizer.tokens(text), window: settings.negationWindow)
        var applied: [AppliedRule] = []
        for (rule, stems) in compiled {
            var matches: [KeywordMatch] = []
            var sum = 0.0
            for (keyword, stem) in zip(rule.keywords, stems) {
                guard let occurrence = found[stem] else { continue }
                let negated = !occurrence.affirmed
                matches.append(KeywordMatch(keyword: keyword, negated: negated))
                sum += negated ? -1 : 1
            }
            guard !matches.isEmpty else { continue }
            let coverage = sum / Double(stems.count)
            let contribution = totalWeight > 0 ? rule.polarity.sign * rule.weight * coverage / totalWeight : 0
            applied.append(
                AppliedRule(
                    name: rule.name, polarity: rule.polarity, weight: rule.weight, matches: matches, coverage: coverage,
                    contribution: contribution))
        }
        applied.sort { (abs($0.contribution), $1.name) > (abs($1.contribution), $0.name) }
        let score = min(1, max(-1, applied.reduce(0) { $0 + $1.contribution }))
        let approved = score >= settings.approvalThreshold
        return Evaluation(
            score: score, approved: approved, threshold: settings.approvalThreshold, appliedRules: applied,
            explanation: Self.explain(score: score, approved: approved, threshold: settings.approvalThreshold, applied))
    }

    /// Whether each stem occurs affirmed (at least once) or only negated.
    static func occurrences(in tokens: [Token], window: Int) -> [String: (affirmed: Bool, negated: Bool)] {
        var found: [String: (affirmed: Bool, negated: Bool)] = [:]
        var reach: [Int] = []  // content words each active negator still covers
        for token in tokens {
            switch token {
            case .clauseBreak:
                reach.removeAll()
            case .negator:
                reach.append(window)
            case .word(_, let stem):
                let negated = reach.count % 2 == 1
                var entry = found[stem] ?? (false, false)
                if negated { entry.negated = true } else { entry.affirmed = true }
                found[stem] = entry
                reach = reach.map { $0 - 1 }.filter { $0 > 0 }
            }
        }
        return found
    }
}
