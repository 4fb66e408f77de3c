import Testing

@testable import ConsciousnessCore

/// Jamey 3.0's priority vectors (first call, novelty 1), and its defects fixed.
@Suite struct PriorityTests {
    static let sentence =
        "This is a test input with sufficient length to process and generate metrics for the consciousness system"

    func priority(_ text: String) throws -> Double {
        try Consciousness().process(text, at: 0).priority.value
    }

    @Test func jameyVectorsHold() throws {
        let vectors: [(String, Double)] = [
            ("low", 0.359), ("Test broadcast with sufficient length", 0.477), (Self.sentence, 0.673),
            ("URGENT: the server is down!!!", 0.678), ("critical!", 0.560),
            ("Important information that should be broadcasted with sufficient length to pass priority threshold", 0.762),
        ]
        for (text, expected) in vectors { #expect(abs(try priority(text) - expected) < 0.0005, "\(text)") }
    }

    @Test func lengthsCountCharactersNotBytes() throws {
        // Jamey 3.0 measured "é" as two: "ééé" scored as long as "aaaaaa".
        let accented = try Consciousness().process("ééé", at: 0).priority
        #expect(abs(accented.length - 0.03) < 1e-12)
        #expect(accented.special == 0)
    }

    @Test func theThresholdLetsNewSentencesThroughAndHoldsBackRepeats() throws {
        let c = Consciousness()
        #expect(try c.process("low", at: 0).broadcast == nil)
        let first = try c.process(Self.sentence, at: 1)
        #expect(first.broadcast?.sequence == 1)
        #expect(first.broadcast?.focus == "consciousness")
        // The same text again: novelty 0, priority 0.473 < 0.5.
        let again = try c.process(Self.sentence, at: 2)
        #expect(again.priority.novelty == 0)
        #expect(abs(again.priority.value - 0.473) < 0.0005)
        #expect(again.broadcast == nil)
        #expect(try c.process("URGENT: the server is down!!!", at: 3).broadcast?.sequence == 2)
    }

    @Test func similarityIsJaroWinkler() {
        func jw(_ a: String, _ b: String) -> Double {
            JaroWinkler.similarity(Array(a.unicodeScalars), Array(b.unicodeScalars))
        }
        #expect(abs(jw("MARTHA", "MARHTA") - 0.961) < 0.0005)
        #expect(abs(jw("DIXON", "DICKSONX") - 0.813) < 0.0005)
        #expect(jw("same", "same") == 1)
        #expect(jw("abc", "xyz") == 0)
        // A shared prefix raises only a Jaro above 0.7: strsim 0.11's values.
        #expect(abs(jw("cheeseburger", "cheese fries") - 0.8667) < 0.0005)
        #expect(abs(jw("Dinsdale", "D") - 0.7375) < 0.0005)  // Jaro 0.708, just above
        let jaro = (1.0 / 27 + 1.0 / 30 + 1) / 3  // one match, no bonus though both start with "A"
        #expect(abs(jw("ALL CAPS WITH STRONG EMPHASIS!!!", "A test of the emergency broadcast system.") - 0.426) < 0.0005)
        #expect(jw("Axxxxxxxxxxxxxxxxxxxxxxxxxx", "Ayyyyyyyyyyyyyyyyyyyyyyyyyyyyy") == jaro)
    }

    @Test func theFastASCIIPathMatchesTheWindowScan() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcde fghij!".unicodeScalars)
        for _ in 0..<2000 {
            let a = (0..<Int.random(in: 1...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let b = (0..<Int.random(in: 1...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            #expect(JaroWinkler.similarity(a, b) == JaroWinkler.similarity(a, b, scanOnly: true), "\(a) \(b)")
        }
    }
}
