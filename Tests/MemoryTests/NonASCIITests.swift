import Foundation
import GRDB
import MemoryCore
import Testing

@testable import MemoryPlugin

/// Non-ASCII text splits in memory exactly as FTS5 splits it (SQLite's own tokenizer,
/// ``FTS5Tokenizer``), so the pending tail answers searches for non-ASCII words without a merge.
@Suite struct NonASCIITests {
    /// Texts where Swift's folding and FTS5's differ or could: diacritics, ß, ligatures,
    /// Greek, Cyrillic, CJK, combining marks, emoji, digits in other scripts, mixed case.
    static let texts = [
        "Café au lait, crème brûlée et NAÏVE façade",
        "Straße, Maße und GROSSE Füße",
        "ﬁnancial ﬂows — the œuvre of Æsop",
        "Ελληνικά: Καλημέρα ΚΌΣΜΕ, σοφός",
        "Привет, МИР! ёлка и Ёж",
        "東京都の天気 は晴れ 123",
        "e\u{0301}te\u{0301} à Paris a\u{0308}",
        "emoji 🎉 party🎉time",
        "٣٤٥ arabic digits and अंक ४२",
        "Ǆemal İstanbul ıi Ŀl",
    ]

    @Test func theTokenizerSplitsAsFTS5Does() throws {
        FTS5Tokenizer.install()
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(
                sql: """
                    CREATE VIRTUAL TABLE t USING fts5(content, tokenize='unicode61 remove_diacritics 2');
                    CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');
                    """)
            for (i, text) in Self.texts.enumerated() {
                try db.execute(sql: "INSERT INTO t(rowid, content) VALUES (?, ?)", arguments: [i + 1, text])
            }
        }
        for (i, text) in Self.texts.enumerated() {
            let fts5 = try db.read { db in
                try String.fetchAll(db, sql: "SELECT term FROM v WHERE doc = ? ORDER BY offset", arguments: [i + 1])
            }
            #expect(FTS5Tokenizer.tokens(text) == fts5, "\(text)")
            let counts = TermCounts(text)
            #expect(counts.countsExact && !counts.isExact)
            #expect(counts.length == fts5.count)
            #expect(counts.counts == Dictionary(fts5.map { ($0, 1) }, uniquingKeysWith: +))
        }
    }

    @Test func aNonASCIIWordIsAnsweredFromTheTailAsAfterTheMerge() async throws {
        let (store, _, _) = try makeStore(PendingIndexTests.held())
        // Some merged items, so the BM25 statistics mix index and tail.
        for i in 0..<30 { _ = try await store.put(item("crème brûlée recipe number \(i) for the café", .longTerm)) }
        try store.mergePending(limit: 1000)
        let pending = [
            try await store.put(item("Café CAFÉ cafe: three times the word", .longTerm)),
            try await store.put(item("un café noir et une crème", .longTerm)),
            try await store.put(item("Straße und Füße", .longTerm)),
        ]
        #expect(try await PendingIndexTests.pending(store) == 3)
        let queries = ["café", "CAFÉ crème", "strasse", "straße", "füße", "Crème noir"]
        var before: [[String: Double]] = []
        for query in queries {
            let hits = try await store.search(FTSQuery(query), filter: .init(), limit: 50, reinforce: false)
            before.append(Dictionary(uniqueKeysWithValues: hits.map { ($0.item.id, $0.bm25) }))
        }
        // Answered without merging: the items are still pending.
        #expect(try await PendingIndexTests.pending(store) == 3)
        #expect(before[0].keys.contains(pending[0]) && before[0].keys.contains(pending[1]))
        #expect(before[2].isEmpty && Set(before[3].keys) == [pending[2]])
        try store.mergePending(limit: 1000)
        #expect(try await PendingIndexTests.pending(store) == 0)
        // The pending items' bm25() from the tail (statistics of index and tail together) is
        // FTS5's once they are merged; the merged items' changed with the statistics.
        for (query, expected) in zip(queries, before) {
            let hits = try await store.search(FTSQuery(query), filter: .init(), limit: 50, reinforce: false)
            let after = Dictionary(uniqueKeysWithValues: hits.map { ($0.item.id, $0.bm25) })
            #expect(Set(after.keys) == Set(expected.keys), "\(query)")
            for id in pending where after[id] != nil {
                let (a, b) = (after[id] ?? 0, expected[id] ?? .nan)
                #expect(abs(a - b) <= 1e-12 * max(1, abs(a)), "\(query): \(b) from the tail, \(a) from FTS5")
            }
        }
        #expect(try await PendingIndexTests.ftsIntact(store))
    }

    /// A Prepend letter (U+0D4E) joins the character after it into one Swift character, so a
    /// plain word could hold `"`, `*` or `:`: the quote closed the word's FTS5 string early and
    /// the rest became syntax (a prefix query, a column filter) or a 400. Quotes inside a word
    /// are doubled: the search is plain words, answered, and finds no prefix match.
    @Test func aQuoteJoinedToALetterStaysInsideItsWord() async throws {
        FTS5Tokenizer.install()
        let (store, _, _) = try makeStore(PendingIndexTests.held())
        _ = try await store.put(item("foobar and foobaz are here", .longTerm))
        let database = try DatabaseQueue()
        try await database.write { db in
            try db.execute(sql: "CREATE VIRTUAL TABLE t USING fts5(content, tokenize='unicode61 remove_diacritics 2')")
            try db.execute(sql: "INSERT INTO t(content) VALUES ('foobar and foobaz are here')")
        }
        for hostile in ["\u{0D4E}\"", "\u{0D4E}\" fooba\u{0D4E}* \u{0D4E}\" \u{0D4E}:"] {
            let query = try FTSQuery(hostile)
            #expect(query.words.contains { $0.contains("\"") }, "the clusters the split keeps")
            // FTS5 parses the expression as plain strings (an unterminated string before).
            let matched = try await database.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM t WHERE t MATCH ?", arguments: [query.expression])
            }
            #expect(matched == 0)
            let hits = try await store.search(query, filter: .init(), limit: 10, reinforce: false)
            #expect(hits.isEmpty)
        }
    }

    @Test func aWordFTS5SplitsIntoAPhraseStillMergesFirst() async throws {
        FTS5Tokenizer.install()
        // A combining overline continues a word for the query parser and separates tokens for
        // unicode61: one word to the one, two tokens (a phrase) to FTS5.
        let word = "tide\u{0305}pool"
        #expect(FTSQuery.words(word) == [word])
        #expect(FTS5Tokenizer.tokens(word) == ["tide", "pool"])
        #expect(PendingTail.terms(of: try FTSQuery(word)) == nil)
        let (store, _, _) = try makeStore(PendingIndexTests.held())
        let id = try await store.put(item("a tide pool at dawn", .longTerm))
        let hits = try await store.search(FTSQuery(word), filter: .init(), limit: 10, reinforce: false)
        #expect(hits.map(\.item.id) == [id])
        #expect(try await PendingIndexTests.pending(store) == 0, "merged first")
    }

    @Test func aPendingItemsBM25IsFTS5sWhileTheMergedOnesAreStillHeld() async throws {
        // Right after a merge its items stay in the tail (PendingTail.retireDelay) for older
        // snapshots; a newer search must not count them in both index and tail.
        let (store, _, _) = try makeStore(PendingIndexTests.held())
        for i in 0..<30 { _ = try await store.put(item("river crossing number \(i) at the ford", .longTerm)) }
        try store.mergePending(limit: 1000)
        let id = try await store.put(item("three herons by the river", .longTerm))
        let pending = try await store.search(FTSQuery("three"), filter: .init(), limit: 5, reinforce: false)
        try store.mergePending(limit: 1000)
        let merged = try await store.search(FTSQuery("three"), filter: .init(), limit: 5, reinforce: false)
        #expect(pending.map(\.item.id) == [id] && merged.map(\.item.id) == [id])
        #expect(
            abs(pending[0].bm25 - merged[0].bm25) <= 1e-12 * abs(merged[0].bm25), "\(pending[0].bm25) against \(merged[0].bm25)")
    }
}
