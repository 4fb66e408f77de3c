import Testing

@testable import ConsciousnessCore

/// Higher-order thought without the double-counted word, with punctuation stripped, and a
/// recency-weighted level.
@Suite struct HigherOrderTests {
    @Test func jameyExamplesAndTheCorrectedOne() throws {
        func score(_ text: String) throws -> HigherOrderThought.Score {
            HigherOrderThought.score(try TextInput(text))
        }
        #expect(try score("I think and reflect").score == 1)
        // Jamey 3.0: 0.923, because "plan." did not match; now 9 of 13 words → 1.04 → 1.
        let corrected = try score("I think I should reflect on my decisions and what I should plan.")
        #expect(corrected.hits == 9)
        #expect(corrected.words == 13)
        #expect(corrected.score == 1)
        #expect(try score("The sky is blue today.").score == 0)
        // "decide" is in both of Jamey 3.0's lists and counted twice there: once now.
        let decide = try score("we decide now together")
        #expect(decide.hits == 1)
        #expect(abs(decide.score - 1.5 / 4) < 1e-12)
        #expect(try score("!!! ...").words == 0)
    }

    @Test func theLevelFollowsRecentTextsNotALifetimeMean() throws {
        let c = Consciousness()
        for i in 0..<50 { _ = try c.process("The sky is blue today number \(i)", at: Double(i)) }
        var level = 0.0
        for i in 0..<10 { level = try c.process("I think and reflect", at: Double(50 + i)).higherOrder.level }
        // A lifetime mean would be 10/60 = 0.17; the recency-weighted level is 1 − 0.8^10 = 0.89.
        #expect(abs(level - (1 - 0.8 * 0.8 * 0.8 * 0.8 * 0.8 * 0.8 * 0.8 * 0.8 * 0.8 * 0.8)) < 1e-9)
    }
}
