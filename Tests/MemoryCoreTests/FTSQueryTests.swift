import MemoryCore
import Testing

/// User text never reaches FTS5 raw; operator syntax only on request, checked.
@Suite struct FTSQueryTests {
    @Test func plainWordsAreQuotedAndJoinedWithAnd() throws {
        let q = try FTSQuery("Coffee, at NOON!")
        #expect(q.expression == #""coffee" AND "at" AND "noon""#)
        #expect(q.words == ["coffee", "at", "noon"])
    }

    @Test func anyModeJoinsWithOr() throws {
        #expect(try FTSQuery("tea coffee", mode: .any).expression == #""tea" OR "coffee""#)
    }

    @Test func operatorsInPlainTextAreJustWords() throws {
        let q = try FTSQuery(#"content: NOT "x* OR (y"#)
        #expect(q.expression == #""content" AND "not" AND "x" AND "or" AND "y""#)
    }

    @Test func plainQueryWithoutWordsIsAnError() {
        #expect(throws: MemoryQueryError.self) { try FTSQuery("  *** ") }
    }

    @Test func syntaxModePassesOperatorsThrough() throws {
        #expect(
            try FTSQuery(#"coffee AND ("noon tea" OR lunch*)"#, syntax: true).expression == #"coffee AND ("noon tea" OR lunch*)"#)
    }

    @Test(arguments: [#""open"#, "(a OR b", "a)", "AND a", "a OR", "a AND OR b", "content:x", "  "])
    func badSyntaxIsAClearError(_ text: String) {
        #expect(throws: MemoryQueryError.self) { try FTSQuery(text, syntax: true) }
    }

    @Test func tooManyWordsIsAnError() {
        let text = (0..<100).map { "w\($0)" }.joined(separator: " ")
        #expect(throws: MemoryQueryError.self) { try FTSQuery(text) }
    }
}

/// Operator syntax is bounded: terms, prefix terms, prefix length and length in bytes.
@Suite struct FTSQueryBoundsTests {
    @Test func costlySyntaxIsRefusedWithTheLimitNamed() {
        func refusal(_ text: String) -> String? {
            do {
                _ = try FTSQuery(text, syntax: true)
                return nil
            } catch { return error.description }
        }
        let letters = "abcdefghij".map { String($0) }
        #expect(refusal(letters.map { $0 + $0 + "*" }.prefix(8).joined(separator: " OR ")) == nil)
        #expect(refusal(letters.map { $0 + $0 + "*" }.prefix(9).joined(separator: " OR "))?.contains("at most 8") == true)
        #expect(refusal("a* OR boats")?.contains("'a*' is too short") == true)
        // `*` is a token of its own to FTS5: one bareword can hold many prefixes.
        #expect(refusal("ab*cd*") == nil)
        #expect(refusal("a*b*c*d*")?.contains("'a*' is too short") == true)
        #expect(refusal((0..<9).map { "p\($0)*" }.joined())?.contains("9 prefix terms") == true)
        #expect(refusal((0..<65).map { "w\($0)" }.joined(separator: " OR "))?.contains("65 terms; at most 64") == true)
        #expect(refusal((0..<64).map { "w\($0)" }.joined(separator: " OR ")) == nil)
        #expect(refusal("\"" + String(repeating: "x", count: 3000) + "\"")?.contains("at most 2048") == true)
    }
}
