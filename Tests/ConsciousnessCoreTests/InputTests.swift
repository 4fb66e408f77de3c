import ConsciousnessCore
import Testing

/// Bad texts are refused with a sentence naming the field; Jamey 3.0's 10,000-character limit holds.
@Suite struct InputTests {
    func refusal(_ text: String) -> String? {
        do {
            _ = try Consciousness().process(text, at: 0)
            return nil
        } catch {
            #expect(error.code == .invalid)
            return error.description
        }
    }

    @Test func emptyOversizedAndControlCharactersAreRefused() {
        #expect(refusal("") == "text: expected some text, found an empty or blank string")
        #expect(refusal(" \n\t ") == "text: expected some text, found an empty or blank string")
        #expect(refusal(String(repeating: "a", count: 10_001)) == "text: expected at most 10000 characters, found 10001")
        #expect(refusal("bell\u{7}") == "text: control character U+0007 is not allowed")
        #expect(refusal("del\u{7F}") == "text: control character U+007F is not allowed")
        #expect(refusal(String(repeating: "a", count: 10_000)) == nil)
        #expect(refusal("tabs\tand\nlines\r\n") == nil)
    }

    @Test func aRefusedTextChangesNothing() throws {
        let c = Consciousness()
        _ = try? c.process("", at: 0)
        #expect(c.levels(at: 0).processed == 0)
    }
}
