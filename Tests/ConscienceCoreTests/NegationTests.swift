import ConscienceCore
import Testing

/// Negators flip the keyword matches that follow them within the window, inside one clause.
@Suite struct NegationTests {
    let engine = ConscienceEngine(rules: DefaultRules.all)

    func harm(_ text: String, window: Int = 3) throws -> KeywordMatch? {
        let engine = ConscienceEngine(rules: DefaultRules.all, settings: .init(approvalThreshold: 0, negationWindow: window))
        return try engine.evaluate(text).appliedRules.first { $0.name == "no-harm" }?.matches.first
    }

    @Test(arguments: [
        "I will not hurt you", "never hurt anyone", "I don't hurt people", "I don’t hurt people", "I won't hurt",
        "we cannot hurt them", "I mustn't hurt", "no harm done",
    ])
    func negatorsFlipTheMatch(text: String) throws {
        #expect(try harm(text)?.negated == true, "\(text)")
        #expect(try engine.evaluate(text).score > 0, "\(text)")
    }

    @Test func theWindowCountsContentWords() throws {
        // never → ever (1), want (2), hurt (3): inside a window of 3, outside a window of 2.
        #expect(try harm("I would never ever want to hurt you")?.negated == true)
        #expect(try harm("I would never ever want to hurt you", window: 2)?.negated == false)
        // Stopwords do not use up the window: "not", then "to", "be", "the" are dropped.
        #expect(try harm("not to be the one to harm")?.negated == true)
    }

    @Test func punctuationAndButEndTheClause() throws {
        #expect(try harm("I will not lie, I will hurt you")?.negated == false)
        let e = try engine.evaluate("I will not lie but I will hurt you")
        #expect(e.appliedRules.first { $0.name == "no-deception" }?.matches == [KeywordMatch(keyword: "lie", negated: true)])
        #expect(e.appliedRules.first { $0.name == "no-harm" }?.matches == [KeywordMatch(keyword: "hurt", negated: false)])
        // +8·(1/4)/26 for the refused lie, −10·(1/4)/26 for the hurt.
        #expect(abs(e.score - (-0.5 / 26)) < 1e-12)
    }

    @Test func twoNegatorsCancel() throws {
        #expect(try harm("I can't not harm them")?.negated == false)
    }

    @Test func oneAffirmedOccurrenceOutweighsNegatedOnes() throws {
        #expect(try harm("I will not harm you. I will harm him.")?.negated == false)
        #expect(abs(try engine.evaluate("I will not harm you. I will harm him.").score - (-2.5 / 26)) < 1e-12)
    }

    @Test func negatedVirtueLowersTheScore() throws {
        #expect(abs(try engine.evaluate("I will not be honest").score - (-4.0 / 26)) < 1e-12)
    }

    /// Only "n't" contracts to a negator: a name with an apostrophe that ends in "nt" is a word.
    @Test(arguments: ["L'Enfant will harm them", "O'Bryant will harm them", "O’Bryant will harm them"])
    func anApostropheElsewhereInAWordEndingInNtIsNoNegator(text: String) throws {
        #expect(try harm(text)?.negated == false, "\(text)")
        #expect(try engine.evaluate(text).score < 0, "\(text)")
        // Outside the word list, a contraction still negates.
        #expect(Tokenizer.tokens("mightn't") == [.negator("mightnt")])
    }
}
