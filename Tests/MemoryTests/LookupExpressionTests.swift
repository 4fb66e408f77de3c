import GRDB
import MemoryCore
import Testing

/// A near-duplicate lookup's FTS5 expression (factored, ``NearDuplicate/Lookup/expression``)
/// must match, in a real FTS5 table, exactly the rows holding all its required words and at
/// least `least` of its words: the rows one of its clauses holds.
@Suite struct LookupExpressionTests {
    @Test func theFactoredExpressionMatchesTheRowsOfTheClauses() throws {
        let vocabulary = ["ka", "kb", "kc", "kd", "ke", "kf", "kg", "kh"]
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: "CREATE VIRTUAL TABLE t USING fts5(content)")
            // One row per subset of the vocabulary (bit i: word i), rowid = the subset's bits + 1.
            for subset in 0..<(1 << vocabulary.count) {
                let words = vocabulary.indices.filter { subset & (1 << $0) != 0 }.map { vocabulary[$0] }
                try db.execute(
                    sql: "INSERT INTO t(rowid, content) VALUES (?, ?)",
                    arguments: [subset + 1, (["filler"] + words).joined(separator: " ")])
            }
        }
        var checked = 0
        for count in 1...vocabulary.count {
            let words = Array(vocabulary.prefix(count))
            for least in 1...count {
                for requiredCount in 0...least {
                    let lookup = NearDuplicate.Lookup(words: words, least: least, required: Array(words.suffix(requiredCount)))
                    let matched = try db.read { db in
                        Set(try Int.fetchAll(db, sql: "SELECT rowid - 1 FROM t WHERE t MATCH ?", arguments: [lookup.expression]))
                    }
                    let clauses = lookup.clauses.map { clause in
                        clause.reduce(0) { $0 | 1 << vocabulary.firstIndex(of: $1)! }
                    }
                    let expected = Set((0..<(1 << vocabulary.count)).filter { subset in clauses.contains { subset & $0 == $0 } })
                    #expect(matched == expected, "\(lookup.expression)")
                    // The clauses are the condition: every required word and `least` words in all.
                    let required = lookup.required.reduce(0) { $0 | 1 << vocabulary.firstIndex(of: $1)! }
                    let all = (1 << count) - 1
                    #expect(
                        expected
                            == Set(
                                (0..<(1 << vocabulary.count)).filter {
                                    $0 & required == required && ($0 & all).nonzeroBitCount >= least
                                }))
                    checked += 1
                }
            }
        }
        #expect(checked == 156)
    }
}
