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

    /// A focus keeps the first 64 letters of its word: the patterns remember up to 40 000 foci
    /// (and every snapshot holds them), and texts each one new long word held gigabytes.
    @Test func aFocusKeepsTheFirst64Letters() throws {
        let long = String(repeating: "ab", count: 2_000)
        #expect(try focus("short \(long) words") == String(long.prefix(64)))
        #expect(try focus("Élan \(String(repeating: "é", count: 100))") == String(repeating: "é", count: 64))
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

    /// A stream of new foci (the longest word of each text) keeps a bounded number of them: the
    /// ageing numbers again only the foci still in use. Every focus ever seen kept its number and
    /// name before, and with them every snapshot grew. What is learnt after the ageing still
    /// predicts.
    @Test func aStreamOfNewFociKeepsABoundedNumberOfThem() throws {
        var a = Attention()
        var most = 0
        for i in 0..<30_000 {
            var (n, letters) = (i, "word")
            repeat {
                letters.append(Character(UnicodeScalar(UInt8(97 + n % 26))))
                n /= 26
            } while n > 0
            _ = a.attend(try TextInput(letters))
            most = max(most, a.numbered)
        }
        #expect(most <= Attention.contextCapacity * 2)
        #expect(a.numbered < 30_000)
        for _ in 0..<3 { for word in ["ka", "bee", "cee"] { _ = a.attend(try TextInput(word)) } }
        #expect(a.predicted?.focus == "ka")
        let restored = Attention(saved: a.saved)
        #expect(restored.predicted?.focus == "ka")
    }

    /// Counters read from a snapshot are bounded, so counting on cannot overflow: a snapshot
    /// holding Int.max stopped the process at the next text.
    @Test func countersFromASnapshotAreBounded() throws {
        var saved = Attention().saved
        saved.shifts = .max
        saved.predictions = .max
        saved.hits = .max
        saved.order = .max
        var a = Attention(saved: saved)
        for word in ["ka", "bee", "ka", "bee"] { _ = a.attend(try TextInput(word)) }
        #expect(a.shifts > 1 << 52 && a.hits <= a.predictions)
    }
}
