import Foundation
import GRDB
import MemoryCore
import Synchronization

/// Which terms have impact-ordered postings (`term_postings`), and how often the others were
/// stored since the store opened (to notice when one becomes frequent).
///
/// FTS5 scores every row matching a term before the limit, so a frequent term costs in
/// proportion to its rows. A frequent ("hot") term therefore also gets postings keyed
/// `(term, tf, dl, seq)`: for a one-term query BM25 grows with `tf` and falls with `dl`, so the
/// best rows of each `tf` are its shortest, and a search reads each `tf` group from the top
/// until no remaining row can enter the candidates (``MemoryStore/impactCandidates``). Each hot
/// term's row count is kept in `hot_terms.rows` (added per transaction, removed by a trigger): FTS5's `fts5vocab` counts by walking the
/// term's whole doclist, which for a frequent term costs what the search saves.
final class HotTerms: Sendable {
    private struct State {
        var hot: Set<String> = []
        var seen: [String: Int] = [:]
    }

    private let state = Mutex(State())

    /// Replaces the hot set (after opening or restoring the database).
    func load(_ terms: Set<String>) {
        state.withLock {
            $0.hot = terms
            $0.seen = [:]
        }
    }

    /// True when `term` has postings.
    func contains(_ term: String) -> Bool { state.withLock { $0.hot.contains(term) } }

    /// Splits the terms of a new item into hot ones and those due for a frequency check
    /// (every `checkEvery` stores of the term since the store opened); `promoted` counts as hot.
    func classify(_ terms: some Sequence<String>, promoted: Set<String>, checkEvery: Int) -> (hot: [String], check: [String]) {
        state.withLock { state in
            var hot: [String] = []
            var check: [String] = []
            for term in terms {
                if state.hot.contains(term) || promoted.contains(term) {
                    hot.append(term)
                } else {
                    let n = state.seen[term, default: 0] + 1
                    state.seen[term] = n
                    if n % checkEvery == 0 { check.append(term) }
                }
            }
            return (hot, check)
        }
    }

    /// Adds terms promoted by a committed transaction.
    func add(_ terms: Set<String>) {
        guard !terms.isEmpty else { return }
        state.withLock { state in
            state.hot.formUnion(terms)
            for term in terms { state.seen[term] = nil }
        }
    }
}

/// Terms promoted inside one write transaction: they count as hot for the rest of it and join
/// ``HotTerms`` only once it commits.
/// It also gathers the postings each hot term gained, so that `hot_terms.rows` takes one update
/// per term and transaction (``MemoryStore/addCounts(_:_:)``) instead of one per posting.
final class Promotions: Sendable {
    private struct State {
        var terms: Set<String> = []
        var added: [String: Int] = [:]
        var pending: [Posting] = []
    }

    /// A posting due to be written.
    struct Posting: Sendable {
        var term: String
        var tf: Int
        var dl: Int
        var seq: Int64
    }

    private let state = Mutex(State())

    /// Records postings to write before the transaction commits (``MemoryStore/addCounts(_:_:)``).
    func post(_ postings: [Posting]) { state.withLock { $0.pending += postings } }

    /// The postings recorded since the last call, in key order `(term, tf, dl, seq)` (terms in
    /// SQLite's order, by their UTF-8 bytes), and forgets them. Grouped by term first: sorting
    /// them all by a tuple with the term compared each time took about a third of a merge.
    func takePending() -> [Posting] {
        let pending = state.withLock { state in
            defer { state.pending = [] }
            return state.pending
        }
        let byTerm = Dictionary(grouping: pending, by: \.term)
        let terms = byTerm.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var sorted: [Posting] = []
        sorted.reserveCapacity(pending.count)
        for term in terms {
            sorted += byTerm[term]!.sorted { ($0.tf, $0.dl, $0.seq) < ($1.tf, $1.dl, $1.seq) }
        }
        return sorted
    }

    /// The terms promoted so far.
    var terms: Set<String> { state.withLock { $0.terms } }

    /// Records a promotion.
    func insert(_ term: String) { _ = state.withLock { $0.terms.insert(term) } }

    /// Records a posting written for `term`.
    func added(_ term: String) { state.withLock { $0.added[term, default: 0] += 1 } }

    /// The postings written per term since the last call, and forgets them.
    func takeAdded() -> [String: Int] {
        state.withLock { state in
            defer { state.added = [:] }
            return state.added
        }
    }
}

extension MemoryStore {
    /// Rows a term must be in before migration `v3` gives it postings (the default of
    /// ``MemorySettings/hotTermRows``).
    static let hotThreshold = MemorySettings().hotTermRows

    /// The tables of impact-ordered postings (migration `v3 impact postings`).
    static func createImpactTables(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE term_postings (
                    term TEXT NOT NULL,
                    tf INTEGER NOT NULL,
                    dl INTEGER NOT NULL,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY (term, tf, dl, seq)
                ) WITHOUT ROWID;
                CREATE INDEX term_postings_by_seq ON term_postings(seq);
                CREATE TABLE hot_terms (term TEXT PRIMARY KEY, rows INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
                CREATE TRIGGER hot_terms_count_delete AFTER DELETE ON term_postings BEGIN
                    UPDATE hot_terms SET rows = rows - 1 WHERE term = old.term;
                END;
                CREATE VIRTUAL TABLE items_vocab_instance USING fts5vocab(items_fts, 'instance');
                \(dropsWithItemContent("term_postings"))
                """)
        let frequent = try String.fetchAll(
            db, sql: "SELECT term FROM items_vocab WHERE doc >= ?", arguments: [hotThreshold])
        for term in frequent { try promote(db, term) }
    }

    /// The hot terms recorded in the database.
    static func hotTerms(_ db: Database) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT term FROM hot_terms"))
    }

    /// Makes `term` hot: records it and writes the postings of every row FTS5 holds it in.
    static func promote(_ db: Database, _ term: String) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO hot_terms(term) VALUES (?)", arguments: [term])
        let rows = try Row.fetchAll(
            db, sql: "SELECT doc, COUNT(*) AS tf FROM items_vocab_instance WHERE term = ? GROUP BY doc", arguments: [term])
        let insert = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO term_postings(term, tf, dl, seq) VALUES (?, ?, ?, ?)")
        var added = 0
        for row in rows {
            let seq: Int64 = row["doc"]
            try insert.execute(arguments: [term, row["tf"] as Int, try tokenCount(db, seq: seq), seq])
            added += db.changesCount
        }
        try db.execute(sql: "UPDATE hot_terms SET rows = rows + ? WHERE term = ?", arguments: [added, term])
    }

    /// Writes the postings a transaction recorded, in key order (a batch's postings of one term
    /// land on neighbouring pages, each page written once), and adds them to the row counts of
    /// their terms. Call before the transaction deletes anything (an eviction's trigger drops
    /// the postings of the rows it deletes) and before it commits.
    static func addCounts(_ db: Database, _ promotions: Promotions) throws {
        let pending = promotions.takePending()
        if !pending.isEmpty {
            let insert = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO term_postings(term, tf, dl, seq) VALUES (?, ?, ?, ?)")
            for p in pending {
                insert.setUncheckedArguments([p.term, p.tf, p.dl, p.seq])
                try insert.execute()
                if db.changesCount > 0 { promotions.added(p.term) }
            }
        }
        let update = try db.cachedStatement(sql: "UPDATE hot_terms SET rows = rows + ? WHERE term = ?")
        for (term, n) in promotions.takeAdded() { try update.execute(arguments: [n, term]) }
    }

    /// FTS5's token count of row `seq`.
    static func tokenCount(_ db: Database, seq: Int64) throws -> Int {
        let blob = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT sz FROM items_fts_docsize WHERE id = ?"), arguments: [seq])
        var offset = 0
        return blob.flatMap { BM25.varint(Array($0), at: &offset) }.map(Int.init) ?? 0
    }

    /// Records the postings of a newly stored (or re-written) item for its hot terms (written by
    /// ``addCounts(_:_:)``), and checks
    /// the row count of its terms that are due (``MemorySettings/hotTermCheckEvery``), promoting those that reached
    /// ``MemorySettings/hotTermRows`` (recorded in `promotions` until the transaction commits).
    /// - Parameters:
    ///   - terms: the item's terms, when counted already (the tail holds them).
    ///   - batch: the items of the caller's merge holding each term (in FTS5 already, not yet
    ///     in ``frequencies``).
    func indexImpacts(
        _ db: Database, seq: Int64, content: String, terms: TermCounts? = nil, batch: [String: Int] = [:],
        promotions: Promotions
    ) throws {
        let terms = terms ?? TermCounts(content)
        guard !terms.counts.isEmpty else { return }
        let (hot, check) = hot.classify(
            terms.counts.keys, promoted: promotions.terms, checkEvery: max(1, settings.hotTermCheckEvery))
        if !hot.isEmpty {
            let length = terms.isExact ? terms.length : try Self.tokenCount(db, seq: seq)
            promotions.post(hot.map { .init(term: $0, tf: terms.counts[$0] ?? 1, dl: length, seq: seq) })
        }
        for term in check {
            // The in-memory count of the merged items, when held, and the batch's (it may
            // overstate, never understate: a term may turn hot a little early, which costs
            // postings, not results).
            let rows =
                try frequencies.held(term).map { Int64($0 + (batch[term] ?? 0)) }
                ?? Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT doc FROM items_vocab WHERE term = ?"), arguments: [term]) ?? 0
            if rows >= settings.hotTermRows {
                try Self.promote(db, term)
                promotions.insert(term)
            }
        }
    }

    /// FTS5's row count and average row length (its averages record).
    static func indexTotals(_ db: Database) throws -> (rows: Int64, averageLength: Double)? {
        guard let blob = try Data.fetchOne(db.cachedStatement(sql: "SELECT block FROM items_fts_data WHERE id = 1"))
        else { return nil }
        let bytes = Array(blob)
        var offset = 0
        guard let rows = BM25.varint(bytes, at: &offset), rows > 0, let tokens = BM25.varint(bytes, at: &offset) else {
            return nil
        }
        return (rows, Double(tokens) / Double(rows))
    }

    /// The best `count` rows by BM25 for the one-word query `term` among the items meeting
    /// `conditions`, with FTS5's `bm25()` value of each, best first — or nil when the term is not
    /// hot (the caller asks FTS5).
    ///
    /// Reads the postings of each `tf` (highest first) in order of length and stops a group as
    /// soon as its next row could no longer enter the candidates, so the work depends on
    /// `count`, not on how many rows hold the term. With `conditions` nil every row is taken
    /// (the caller knows every row to be visible), without a lookup into `items` per posting.
    func impactCandidates(
        _ db: Database, term: String, conditions: String?, arguments: [DatabaseValue], count: Int
    ) throws -> [(seq: Int64, bm25: Double)]? {
        guard TermCounts.isPlainASCII(term), hot.contains(term) else { return nil }
        // The row count kept with the postings: FTS5's own (fts5vocab) walks the whole doclist.
        guard let totals = try Self.indexTotals(db),
            let hits = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT rows FROM hot_terms WHERE term = ?"), arguments: [term]),
            hits > 0,
            let maxTf = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT MAX(tf) FROM term_postings WHERE term = ?"), arguments: [term])
        else { return [] }
        let idf = BM25.idf(rows: totals.rows, hits: hits)
        var top = TopImpacts(capacity: count)
        let group = try db.cachedStatement(
            sql: conditions.map {
                """
                SELECT p.dl, p.seq FROM term_postings AS p CROSS JOIN items ON items.seq = p.seq
                WHERE p.term = ? AND p.tf = ? AND \($0) ORDER BY p.dl, p.seq
                """
            } ?? "SELECT dl, seq FROM term_postings WHERE term = ? AND tf = ? ORDER BY dl, seq")
        let arguments = conditions == nil ? [] : arguments
        for tf in stride(from: maxTf, through: 1, by: -1) {
            // A row holding the term tf times has at least tf tokens.
            let bound = BM25.impact(idf: idf, frequency: tf, length: tf, averageLength: totals.averageLength)
            guard top.admits(bound) else { continue }
            let rows = try Row.fetchCursor(
                group, arguments: StatementArguments([term.databaseValue, tf.databaseValue] + arguments))
            while let row = try rows.next() {
                let impact = BM25.impact(
                    idf: idf, frequency: tf, length: row[0], averageLength: totals.averageLength)
                guard top.admits(impact) else { break }
                top.offer(seq: row[1], impact: impact)
            }
        }
        return top.best.map { ($0.seq, BM25.rank(impact: $0.impact)) }
    }
}
