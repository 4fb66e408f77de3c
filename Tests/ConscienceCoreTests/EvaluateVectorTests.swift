import ConscienceCore
import Testing

/// Jamey 3.0's conscience vectors (§1.5), rescored with the defaults' polarity, whole-word
/// matching and negation. Σ weight of the defaults = 10 + 8 + 8 = 26, so every score below is a
/// sum of `polarity · weight · coverage / 26`.
@Suite struct EvaluateVectorTests {
    let engine = ConscienceEngine(rules: DefaultRules.all)

    func score(_ text: String) throws -> Double { try engine.evaluate(text).score }

    static let vectors: [(text: String, score: Double)] = [
        // J3 8.0 → truth 2/2 affirmed: +8·1/26.
        ("I will be honest and truthful", 8.0 / 26),
        // J3 4.29 → no-harm 1/4, negated, so flipped: −10·(−1/4)/26.
        ("I will not cause harm", 2.5 / 26),
        // J3 0 → nothing matches.
        ("I will help someone in need", 0),
        // J3 1.43 (raised the "moral" score) → no-harm 1/4: −10·(1/4)/26.
        ("I will harm someone", -2.5 / 26),
        // J3 7.71, more "moral" than honesty → no-harm 1/4 ("physical", "emotional" and "cause"
        // are not harm keywords; "and" no longer matches anything): −10·(1/4)/26.
        ("I will cause physical and emotional harm to them", -2.5 / 26),
        // J3 3.43 ("or" inside "for") → no-deception 2/4: −8·(2/4)/26.
        ("I will lie and deceive for money", -4.0 / 26),
        // J3 8.86 → truth 1/2 (+4) and no-harm's negated harm (+2.5): 6.5/26 = 0.25.
        ("I will be truthful and not harm anyone", 6.5 / 26),
        // J3 1.43 ("or" inside "world") → exactly 0.
        ("hello world", 0),
    ]

    @Test(arguments: vectors)
    func jamey3VectorsRescored(text: String, expected: Double) throws {
        #expect(abs(try score(text) - expected) < 1e-12, "\(text)")
    }

    @Test func harmfulTextScoresBelowHonestText() throws {
        let harmful = try engine.evaluate("I will cause physical and emotional harm to them")
        let honest = try engine.evaluate("be honest")
        #expect(harmful.score < 0)
        #expect(!harmful.approved)
        #expect(honest.score > 0)
        #expect(harmful.score < honest.score)
    }

    @Test func theIssuesExpectations() throws {
        #expect(try score("I will not cause harm") >= 0)
        #expect(try score("I will cause physical and emotional harm to them") < 0)
        #expect(try score("hello world") == 0)
        #expect(try engine.evaluate("hello world").approved, "neutral text meets the default threshold 0")
    }

    @Test func appliedRulesCarryTheirContributionsAndMatches() throws {
        let e = try engine.evaluate("I will be truthful and not harm anyone")
        #expect(e.appliedRules.map(\.name) == ["truth", "no-harm"], "largest contribution first")
        let truth = try #require(e.appliedRules.first)
        #expect(truth.polarity == .virtue)
        #expect(truth.weight == 8)
        #expect(truth.coverage == 0.5)
        #expect(truth.matches == [KeywordMatch(keyword: "truthful", negated: false)])
        #expect(abs(truth.contribution - 4.0 / 26) < 1e-12)
        let harm = e.appliedRules[1]
        #expect(harm.matches == [KeywordMatch(keyword: "harm", negated: true)])
        #expect(harm.coverage == -0.25)
        #expect(abs(harm.contribution - 2.5 / 26) < 1e-12)
        #expect(abs(e.appliedRules.reduce(0) { $0 + $1.contribution } - e.score) < 1e-12)
    }

    @Test func explanationIsOneLineNamingTheVerdictAndEachRule() throws {
        #expect(
            try engine.evaluate("I will be truthful and not harm anyone").explanation
                == "approved: score 0.25 ≥ threshold 0; truth +0.154 (truthful); no-harm +0.096 (not harm)")
        #expect(
            try engine.evaluate("I will lie and deceive for money").explanation
                == "not approved: score -0.154 < threshold 0; no-deception -0.154 (lie, deceive)")
        #expect(try engine.evaluate("hello world").explanation == "approved: score 0 ≥ threshold 0; no rule matched")
    }

    @Test func thresholdDecidesApproval() throws {
        let strict = ConscienceEngine(rules: DefaultRules.all, settings: .init(approvalThreshold: 0.5, negationWindow: 3))
        let e = try strict.evaluate("I will be honest and truthful")
        #expect(!e.approved)
        #expect(e.threshold == 0.5)
        #expect(try strict.evaluate("hello world").approved == false)
    }

    @Test func scoreSpansMinusOneToOne() throws {
        let good = try MoralRule(name: "kind", description: "Be kind", keywords: ["kind"], weight: 10, polarity: .virtue)
        let bad = try MoralRule(name: "cruel", description: "No cruelty", keywords: ["cruel"], weight: 10, polarity: .prohibition)
        #expect(try ConscienceEngine(rules: [good]).evaluate("be kind").score == 1)
        #expect(try ConscienceEngine(rules: [bad]).evaluate("be cruel").score == -1)
        #expect(try ConscienceEngine(rules: [good, bad]).evaluate("kind and cruel").score == 0)
        #expect(try ConscienceEngine(rules: []).evaluate("anything").score == 0)
        let zero = try MoralRule(name: "z", description: "zero", keywords: ["kind"], weight: 0, polarity: .virtue)
        #expect(try ConscienceEngine(rules: [zero]).evaluate("kind").score == 0, "all weights 0: score 0, no division by 0")
    }
}
