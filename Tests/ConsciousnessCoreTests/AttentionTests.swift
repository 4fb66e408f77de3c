import Testing

@testable import ConsciousnessCore

/// Focus, shifts and the predicted next focus.
@Suite struct AttentionTests {
    func focus(_ text: String) throws -> String {
        try Consciousness().process(text, at: 0).attention.focus
    }

    @Test func theFirstLongestNonStopwordWins() throws {
        // Jamey 3.0's Rust took the last of ties ("broadcast"); its own tests expected "emergency".
        #expect(try focus("A test of the emergency broadcast system.") == "emergency")
        #expect(try focus("salient.") == "salient")
        #expect(try focus("test") == "test")
        #expect(try focus("the of to") == "none")
        #expect(try focus("42 !!") == "none")
        #expect(try focus("The Quick brown") == "quick")
    }

    @Test func shiftsAreCountedWhenTheFocusChanges() throws {
        let c = Consciousness()
        let steps = try ["alpha", "alpha", "beta", "alpha"].enumerated().map { try c.process($1, at: Double($0)).attention }
        #expect(steps.map(\.shifted) == [false, false, true, true])
        #expect(c.levels(at: 4).attention.shifts == 2)
    }

    @Test func theNextFocusIsPredictedFromPatternsSeen() throws {
        let c = Consciousness()
        let cycle = ["morning", "coffee", "emails", "meeting"]
        var steps: [Attention.Step] = []
        for round in 0..<3 {
            for (i, word) in cycle.enumerated() { steps.append(try c.process(word, at: Double(round * 4 + i)).attention) }
        }
        // The first round has nothing to go on; from the second, each focus is predicted.
        #expect(steps[0].predictedNext == nil)
        #expect(steps[4].expected == "coffee" || steps[4].expected == nil)
        #expect(steps.suffix(7).allSatisfy { $0.expectationMet == true })
        #expect(steps.last?.predictedNext == "morning")
        #expect(steps.last?.predictionContext == ["morning", "coffee", "emails", "meeting"])
        let levels = c.levels(at: 12).attention
        #expect(levels.predictedNext == "morning")
        #expect(levels.hits >= 7)
    }

    @Test func theLongestContextDecides() throws {
        var a = Attention()
        // After "a b" comes "c", but after "x b" comes "d": the context of two decides.
        for word in ["ka", "bee", "cee", "ex", "bee", "dee", "ka", "bee", "cee", "ex", "bee"] {
            _ = a.attend(try TextInput(word))
        }
        #expect(a.predicted?.focus == "dee")
        #expect(a.predicted?.context.suffix(2) == ["ex", "bee"])
    }
}
