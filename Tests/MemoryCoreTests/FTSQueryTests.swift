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
