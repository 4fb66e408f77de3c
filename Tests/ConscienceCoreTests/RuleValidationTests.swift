import ConscienceCore
import Testing

/// Rules are validated and normalised when built; bad input is refused with a sentence naming
/// the field.
@Suite struct RuleValidationTests {
    func refusal(_ build: () throws -> MoralRule) -> String? {
        do {
            _ = try build()
            return nil
        } catch let error as ConscienceError {
            #expect(error.code == .invalid)
            return error.description
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func defaultsAreValidAndDocumented() {
        let rules = DefaultRules.all
        #expect(rules.map(\.name) == ["no-harm", "truth", "no-deception"])
        #expect(rules.map(\.weight) == [10, 8, 8], "Jamey 3.0's weights kept")
        #expect(rules.map(\.polarity) == [.prohibition, .virtue, .prohibition])
        #expect(rules[0].description == "Do not cause physical or emotional harm")
        #expect(rules[1].description == "Be honest and truthful")
    }

    @Test func keywordsAreNormalised() throws {
        let rule = try MoralRule(name: "r", description: "d", keywords: ["  Kind ", "GENTLE"], weight: 5, polarity: .virtue)
        #expect(rule.keywords == ["kind", "gentle"])
    }

    @Test func missingKeywordsComeFromTheDescription() throws {
        let rule = try MoralRule(
            name: "no-harm", description: "Do not cause physical or emotional harm.", weight: 10, polarity: .prohibition)
        #expect(rule.keywords == ["cause", "physical", "emotional", "harm"])
        #expect(rule.description == "Do not cause physical or emotional harm.")
    }

    /// A keyword the rule's schema would not allow is refused however it comes: given with more
    /// than 64 code points (64 characters as Swift counts them, with combining marks), or taken
    /// from a description whose word is longer (schemathesis found such a rule's reply breaking
    /// the schema: a description of 100 zeros became a keyword of 100 zeros).
    @Test func keywordsLongerThanTheSchemaAllowsAreRefused() {
        let zeros = String(repeating: "0", count: 100)
        #expect(
            refusal { try MoralRule(name: "r", description: zeros, weight: 5, polarity: .virtue) }?.contains(
                "is longer than 64 characters") == true)
        let marked = String(repeating: "e\u{301}", count: 40)
        #expect(marked.count == 40 && marked.unicodeScalars.count == 80)
        #expect(
            refusal { try MoralRule(name: "r", description: "d", keywords: [marked], weight: 5, polarity: .virtue) }?.hasPrefix(
                "keywords: each keyword needs 1 to 64") == true)
        let fits = String(repeating: "k", count: 64)
        #expect(refusal { try MoralRule(name: "r", description: fits, weight: 5, polarity: .virtue) } == nil)
    }

    @Test func badFieldsAreRefusedWithTheFieldNamed() {
        #expect(
            refusal { try MoralRule(name: "r", description: "d", keywords: ["x"], weight: 10.5, polarity: .virtue) }?.hasPrefix(
                "weight:") == true)
        #expect(
            refusal { try MoralRule(name: "r", description: "d", keywords: ["x"], weight: -1, polarity: .virtue) }?.hasPrefix(
                "weight:") == true)
        #expect(
            refusal { try MoralRule(name: "r", description: "d", keywords: ["x"], weight: .nan, polarity: .virtue) }?.hasPrefix(
                "weight:") == true)
        #expect(
            refusal { try MoralRule(name: "Bad Name", description: "d", keywords: ["x"], weight: 1, polarity: .virtue) }?
                .hasPrefix("name:") == true)
        #expect(
            refusal { try MoralRule(name: "", description: "d", keywords: ["x"], weight: 1, polarity: .virtue) }?.hasPrefix(
                "name:") == true)
        #expect(
            refusal { try MoralRule(name: "-x", description: "d", keywords: ["x"], weight: 1, polarity: .virtue) }?.hasPrefix(
                "name:") == true)
        #expect(
            refusal {
                try MoralRule(
                    name: String(repeating: "a", count: 65), description: "d", keywords: ["x"], weight: 1, polarity: .virtue)
            } != nil)
        #expect(
            refusal { try MoralRule(name: "r", description: "  ", keywords: ["x"], weight: 1, polarity: .virtue) }?.hasPrefix(
                "description:") == true)
        #expect(
            refusal { try MoralRule(name: "r", description: "a\u{07}b", keywords: ["x"], weight: 1, polarity: .virtue) }?
                .hasPrefix("description:") == true)
        #expect(
            refusal { try MoralRule(name: "r", description: "d", keywords: ["the"], weight: 1, polarity: .virtue) }?.contains(
                "stopwords") == true)
        #expect(
            refusal { try MoralRule(name: "r", description: "d", keywords: ["not"], weight: 1, polarity: .virtue) }?.contains(
                "negators") == true)
        #expect(
            refusal { try MoralRule(name: "r", description: "d", keywords: ["two words"], weight: 1, polarity: .virtue) } != nil)
        #expect(refusal { try MoralRule(name: "r", description: "d", keywords: [""], weight: 1, polarity: .virtue) } != nil)
        #expect(
            refusal { try MoralRule(name: "r", description: "d", keywords: ["truth", "truthful"], weight: 1, polarity: .virtue) }
                == "keywords: 'truth' and 'truthful' have the same stem 'truth'; keep one")
        #expect(
            refusal { try MoralRule(name: "r", description: "the and of", weight: 1, polarity: .virtue) }?.hasPrefix("keywords:")
                == true)
        #expect(
            refusal {
                try MoralRule(name: "r", description: "d", keywords: (0..<33).map { "word\($0)x" }, weight: 1, polarity: .virtue)
            } != nil)
    }
}
