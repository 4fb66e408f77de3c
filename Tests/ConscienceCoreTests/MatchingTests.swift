import ConscienceCore
import Testing

/// Whole-word matching on normalised, lightly stemmed tokens.
@Suite struct MatchingTests {
    let engine = ConscienceEngine(rules: DefaultRules.all)

    @Test(arguments: ["harm", "harms", "harmed", "harming", "harmful", "harmfully", "HARM!", "(harm)"])
    func inflectionsMatch(word: String) throws {
        let e = try engine.evaluate("they \(word) people")
        #expect(e.appliedRules.map(\.name) == ["no-harm"], "\(word)")
    }

    @Test(arguments: ["harmless", "charm", "pharmacy", "charming", "world", "document"])
    func otherWordsDoNotMatch(text: String) throws {
        #expect(try engine.evaluate(text).appliedRules.filter { $0.name == "no-harm" }.isEmpty, "\(text)")
        #expect(try engine.evaluate(text).score == 0, "\(text)")
    }

    @Test func stemsMeet() {
        #expect(Stemmer.stem("deceive") == Stemmer.stem("deceiving"))
        #expect(Stemmer.stem("deceived") == Stemmer.stem("deceives"))
        #expect(Stemmer.stem("truthful") == Stemmer.stem("truthfully"))
        #expect(Stemmer.stem("honesty") == Stemmer.stem("honest"))
        #expect(Stemmer.stem("lying") == "lie")
        #expect(Stemmer.stem("lies") == "lie")
        #expect(Stemmer.stem("stopped") == "stop")
        #expect(Stemmer.stem("killed") == "kill")
        #expect(Stemmer.stem("harass") == Stemmer.stem("harassed"))
        #expect(Stemmer.stem("need") == "need")
    }

    @Test func tokensDropStopwordsAndMarkNegatorsAndBreaks() {
        #expect(
            Tokenizer.tokens("I don't lie, but the truth hurts.") == [
                .negator("dont"), .word("lie", stem: "lie"), .clauseBreak, .word("truth", stem: "truth"),
                .word("hurts", stem: "hurt"), .clauseBreak,
            ])
    }

    @Test func eachKeywordCountsOnce() throws {
        let once = try engine.evaluate("harm")
        let thrice = try engine.evaluate("harm harm harm")
        #expect(once.score == thrice.score)
    }
}
