import ConscienceCore
import Testing

/// Texts to evaluate: not empty, at most 10,000 characters (Jamey 3.0's limit), no control
/// characters.
@Suite struct TextCheckTests {
    let engine = ConscienceEngine(rules: DefaultRules.all)

    func refusal(_ text: String) -> String? {
        do {
            _ = try engine.evaluate(text)
            return nil
        } catch {
            #expect(error.code == .invalid)
            return error.description
        }
    }

    @Test func emptyAndBlankTextsAreRefused() {
        #expect(refusal("") == "text: expected some text, found an empty or blank string")
        #expect(refusal(" \n\t ") == "text: expected some text, found an empty or blank string")
    }

    @Test func theTenThousandCharacterLimitIsKept() {
        #expect(refusal(String(repeating: "a", count: 10_000)) == nil)
        #expect(refusal(String(repeating: "a", count: 10_001)) == "text: expected at most 10000 characters, found 10001")
    }

    @Test func controlCharactersAreRefusedButLineBreaksAndTabsAreNot() {
        #expect(refusal("bell\u{07}") == "text: control character U+0007 is not allowed")
        #expect(refusal("nul\u{0}") == "text: control character U+0000 is not allowed")
        #expect(refusal("line one\nline\ttwo\r\n") == nil)
    }
}
