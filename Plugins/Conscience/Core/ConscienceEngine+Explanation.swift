extension ConscienceEngine {
    /// The one-line explanation: `approved: score 0.308 ≥ threshold 0; truth +0.308 (honest,
    /// truthful)`, negated keywords written `not harm`.
    static func explain(score: Double, approved: Bool, threshold: Double, _ applied: [AppliedRule]) -> String {
        let verdict =
            approved
            ? "approved: score \(format(score)) ≥ threshold \(format(threshold))"
            : "not approved: score \(format(score)) < threshold \(format(threshold))"
        guard !applied.isEmpty else { return verdict + "; no rule matched" }
        let parts = applied.map { rule in
            let sign = rule.contribution >= 0 ? "+" : ""
            let words = rule.matches.map { $0.negated ? "not \($0.keyword)" : $0.keyword }.joined(separator: ", ")
            return "\(rule.name) \(sign)\(format(rule.contribution)) (\(words))"
        }
        return verdict + "; " + parts.joined(separator: "; ")
    }

    /// `value` rounded to three decimals, without trailing zeros (`0.308`, `-0.1`, `0`): how
    /// scores appear in explanations.
    public static func format(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        if rounded == 0 { return "0" }
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(rounded)
    }
}
