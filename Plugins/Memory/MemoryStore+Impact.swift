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
/// term's row count is kept in `hot_terms.rows` (added per transaction, taken off when a merged
/// item is deleted or rewritten, ``MemoryStore/forgetUnindexed(_:promoted:)``): FTS5's
/// `fts5vocab` counts by walking the term's whole doclist, which for a frequent term costs what
/// the search saves.
///
/// A search only ever reads the first rows of each `(term, tf)` group, so a group keeps only
/// its best rows (``MemorySettings/postingsPerGroup``, migration `v8 capped postings`):
/// `term_groups` holds each group's stored count and, once it was trimmed, its bound — the
/// group holds exactly the term's rows with that `tf` whose `(dl, seq)` is below the bound. A
/// new row at or past the bound is not written, which spares most of a frequent term's
/// postings; a search that would need a row past the bound asks FTS5 instead.
final class HotTerms: Sendable {
    /// The longest term (in bytes of UTF-8) that may turn hot: a longer one stays with FTS5. Its
    /// count was kept like any other's, so items of long tokens (up to 64 KiB each) grew `seen`
    /// by their size.
    static let maxTermBytes = 64
    /// Most terms counted in `seen` (``classify(_:promoted:checkEvery:)``) by default: past it
    /// the terms seen least are forgotten (each count only decides when a term's frequency is
    /// checked, so a forgotten one is checked later). `seen` kept every distinct term ever merged.
    static let defaultSeenLimit = 1 << 20

    private struct State {
        var hot: Set<String> = []
        var seen: [String: Int] = [:]

        /// Forgets the terms seen least, until at most three quarters of `limit` remain.
        mutating func forgetRare(limit: Int) {
            var floor = 1
            while seen.count > limit * 3 / 4 {
                seen = seen.filter { $0.value > floor }
                floor *= 2
            }
        }
    }

    /// The most terms counted towards a frequency check.
    let seenLimit: Int

    init(seenLimit: Int = defaultSeenLimit) { self.seenLimit = max(16, seenLimit) }

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

    /// Splits the terms of a merge's items (each with the number of items holding it) into hot
    /// ones and those due for a frequency check (terms of at most ``maxTermBytes``): every `checkEvery` items holding the term since
    /// the store opened, counted across this call. Each term is looked at once a merge, not once
    /// an item: classifying every item's terms one by one (three lookups by the term's text
    /// each) and filing its postings took about a third of a merge's time outside SQLite.
    /// Terms `promoted` in the caller's transaction are neither (their promotion wrote their
    /// postings).
    func classify(_ batch: [String: Int], promoted: Set<String>, checkEvery: Int) -> (hot: Set<String>, check: [String]) {
        state.withLock { state in
            var hot = Set<String>()
            var check: [String] = []
            for (term, items) in batch where !promoted.contains(term) {
                if state.hot.contains(term) {
                    hot.insert(term)
                } else if term.utf8.count <= Self.maxTermBytes {
                    let before = state.seen[term, default: 0]
                    state.seen[term] = before + items
                    if (before + items) / checkEvery > before / checkEvery { check.append(term) }
                }
            }
            if state.seen.count > seenLimit { state.forgetRare(limit: seenLimit) }
            return (hot, check)
        }
    }

    /// Terms counted towards a frequency check.
    var counted: Int { state.withLock { $0.seen.count } }

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
/// per term and transaction (``MemoryStore/addCounts(_:_:cap:)``) instead of one per posting.
final class Promotions: Sendable {
    private struct State {
        var terms: Set<String> = []
        var added: [String: Int] = [:]
        var pending: [String: [Posting]] = [:]
    }

    /// A posting due to be written, of the term it is filed under: the rest of its key.
    struct Posting: Sendable, Comparable {
        var tf: Int
        var dl: Int
        var seq: Int64

        static func < (a: Posting, b: Posting) -> Bool { (a.tf, a.dl, a.seq) < (b.tf, b.dl, b.seq) }
    }

    private let state = Mutex(State())

    /// Records postings to write before the transaction commits (``MemoryStore/addCounts(_:_:cap:)``),
    /// filed by term.
    func post(_ postings: [String: [Posting]]) {
        state.withLock { state in state.pending.merge(postings) { $0 + $1 } }
    }

    /// The postings recorded since the last call, by term in SQLite's order (by their UTF-8
    /// bytes), each term's in key order `(tf, dl, seq)`, and forgets them.
    func takePending() -> [(term: String, postings: [Posting])] {
        let pending = state.withLock { state in
            defer { state.pending = [:] }
            return state.pending
        }
        return pending.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, $0.value.sorted()) }
    }

    /// The terms promoted so far.
    var terms: Set<String> { state.withLock { $0.terms } }

    /// Records a promotion.
    func insert(_ term: String) { _ = state.withLock { $0.terms.insert(term) } }

    /// Records `count` rows of `term` merged (written to the postings or not).
    func added(_ term: String, _ count: Int = 1) { state.withLock { $0.added[term, default: 0] += count } }

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
        for term in frequent { try promote(db, term, cap: nil) }
    }

    /// Migration `v8 capped postings`: `term_groups` (each `(term, tf)` group's stored count and
    /// bound, filled from the postings, none bounded yet: an older file's groups are trimmed in
    /// the background, ``trimOversized(limit:)``), and `items_unindexed`, where the triggers
    /// of `items` put a merged item deleted or rewritten (its content and FTS5's size record)
    /// for ``forgetUnindexed(_:promoted:)``. The postings lose their index by `seq` and the
    /// triggers that used it: that index cost a page write per posting, and a deleted item's
    /// postings are found by their key now.
    static func capPostings(_ db: Database) throws {
        let unindexed = """
            INSERT INTO items_unindexed(seq, content, sz)
                    SELECT old.seq, old.content, (SELECT sz FROM items_fts_docsize WHERE id = old.seq)
                    WHERE NOT EXISTS (SELECT 1 FROM items_pending WHERE seq = old.seq);
            """
        try db.execute(
            sql: """
                CREATE TABLE term_groups (
                    term TEXT NOT NULL,
                    tf INTEGER NOT NULL,
                    stored INTEGER NOT NULL,
                    bound_dl INTEGER,
                    bound_seq INTEGER,
                    PRIMARY KEY (term, tf)
                ) WITHOUT ROWID;
                INSERT INTO term_groups(term, tf, stored) SELECT term, tf, COUNT(*) FROM term_postings GROUP BY term, tf;
                DROP TRIGGER hot_terms_count_delete;
                DROP TRIGGER term_postings_delete;
                DROP TRIGGER term_postings_update;
                DROP INDEX term_postings_by_seq;
                CREATE TABLE items_unindexed (seq INTEGER NOT NULL, content TEXT NOT NULL, sz BLOB);
                DROP TRIGGER items_fts_delete;
                DROP TRIGGER items_fts_update;
                CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
                    \(unindexed)
                    INSERT INTO items_fts(items_fts, rowid, content)
                        SELECT 'delete', old.seq, old.content
                        WHERE NOT EXISTS (SELECT 1 FROM items_pending WHERE seq = old.seq);
                    DELETE FROM items_pending WHERE seq = old.seq;
                END;
                CREATE TRIGGER items_fts_update AFTER UPDATE OF content ON items BEGIN
                    \(unindexed)
                    INSERT INTO items_fts(items_fts, rowid, content)
                        SELECT 'delete', old.seq, old.content
                        WHERE NOT EXISTS (SELECT 1 FROM items_pending WHERE seq = old.seq);
                    INSERT OR IGNORE INTO items_pending(seq) VALUES (new.seq);
                END;
                """)
    }

    /// The hot terms recorded in the database.
    static func hotTerms(_ db: Database) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT term FROM hot_terms"))
    }

    /// Makes `term` hot: records it with the count of the rows FTS5 holds it in, and writes
    /// their postings — with `cap`, the best `cap` of each `tf` group, the group bounded past
    /// them (`term_groups`); without (migration `v3`, before `term_groups`), all of them.
    ///
    /// Each row's length comes from FTS5's `docsize` in the same statement: read a row at a time
    /// (``tokenCount(_:seq:)``, a statement step per row) it was half of a promotion, and
    /// promotions a quarter of the writer's time in a bulk load (300 000 items: 1.8 s of the
    /// lookups, 0.25 s this way).
    static func promote(_ db: Database, _ term: String, cap: Int?) throws {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT v.doc, COUNT(*), d.sz FROM items_vocab_instance AS v
                LEFT JOIN items_fts_docsize AS d ON d.id = v.doc WHERE v.term = ? GROUP BY v.doc
                """, arguments: [term])
        var groups: [Int: [(dl: Int, seq: Int64)]] = [:]
        for row in rows {
            let seq: Int64 = row[0]
            let size: Data? = row[2]
            var offset = 0
            let dl = size.flatMap { BM25.varint(Array($0), at: &offset) }.map(Int.init) ?? 0
            groups[row[1], default: []].append((dl, seq))
        }
        let insert = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO term_postings(term, tf, dl, seq) VALUES (?, ?, ?, ?)")
        for (tf, members) in groups {
            let sorted = members.sorted { ($0.dl, $0.seq) < ($1.dl, $1.seq) }
            let kept = sorted.prefix(cap ?? sorted.count)
            for posting in kept { try insert.execute(arguments: [term, tf, posting.dl, posting.seq]) }
            guard cap != nil else { continue }
            let bound = kept.count < sorted.count ? sorted[kept.count] : nil
            try db.execute(
                sql: """
                    INSERT INTO term_groups(term, tf, stored, bound_dl, bound_seq) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(term, tf) DO UPDATE SET stored = excluded.stored, bound_dl = excluded.bound_dl,
                        bound_seq = excluded.bound_seq
                    """, arguments: [term, tf, kept.count, bound?.dl, bound?.seq])
        }
        try db.execute(
            sql: "INSERT INTO hot_terms(term, rows) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET rows = rows + excluded.rows",
            arguments: [term, rows.count])
    }

    /// Migration `v12 postings delta`: `term_postings_new`, keyed as `term_postings`, where
    /// merges write their postings; ``foldPostings(_:chunk:)`` moves them into `term_postings`
    /// once they are a set share of all (``MemorySettings/postingsDeltaShare``). A merge's
    /// postings land in every `(term, tf)` group at every length, so written straight into
    /// `term_postings` they dirtied nearly all of its pages each time: at a million items the
    /// 75 000 postings of a 10 000-item merge made its commit write about 28 000 pages (110 MB)
    /// to the WAL, against almost nothing without them, and the checkpoint copied them again.
    /// In the small table they dirty its few pages; a fold writes each page of `term_postings`
    /// once for many merges. Searches, trims and deletes read and change both tables.
    static func createPostingsDelta(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE term_postings_new (
                    term TEXT NOT NULL,
                    tf INTEGER NOT NULL,
                    dl INTEGER NOT NULL,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY (term, tf, dl, seq)
                ) WITHOUT ROWID
                """)
    }

    /// All postings stored, delta and main table together (`term_groups`' counts).
    static func allPostings(_ db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT CAST(TOTAL(stored) AS INTEGER) FROM term_groups")) ?? 0
    }

    /// Moves the first `chunk` or so postings of `term_postings_new` after the term `after` (all
    /// from the first when nil; whole terms, in key order) into `term_postings`, inside the
    /// caller's transaction, `piece` or so at a time; after each piece, `yield` returning true
    /// ends the call early (a store waits for the writer's lock: it then waits for a piece, not
    /// a whole chunk).
    /// - Returns: the last term moved, whether postings remain after it, and the postings moved.
    static func foldPostings(
        _ db: Database, chunk: Int, after: String? = nil, piece: Int = .max, yield: () -> Bool = { false }
    ) throws -> (last: String?, more: Bool, moved: Int) {
        var cursor = after
        var moved = 0
        while true {
            let step = try foldPiece(db, rows: min(max(1, piece), chunk - moved), after: cursor)
            moved += step.moved
            guard step.more, let last = step.last else { return (step.last, false, moved) }
            cursor = last
            if moved >= chunk || yield() { return (last, true, moved) }
        }
    }

    /// ``foldPostings(_:chunk:after:piece:yield:)``'s step: moves the first `rows` or so
    /// postings after `after` (whole terms).
    private static func foldPiece(_ db: Database, rows: Int, after: String?) throws -> (
        last: String?, more: Bool, moved: Int
    ) {
        let from: StatementArguments = after.map { [$0] } ?? []
        let last = try String.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT term FROM term_postings_new \(after == nil ? "" : "WHERE term > ?")
                    ORDER BY term, tf, dl, seq LIMIT 1 OFFSET ?
                    """),
            arguments: from + [max(0, rows - 1)])
        let bounds = [after.map { _ in "term > ?" }, last.map { _ in "term <= ?" }].compactMap { $0 }
        let range = bounds.isEmpty ? "" : "WHERE " + bounds.joined(separator: " AND ")
        let arguments = from + (last.map { [$0] } ?? [])
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO term_postings(term, tf, dl, seq)
                SELECT term, tf, dl, seq FROM term_postings_new \(range) ORDER BY term, tf, dl, seq
                """, arguments: arguments)
        try db.execute(sql: "DELETE FROM term_postings_new \(range)", arguments: arguments)
        let moved = db.changesCount
        guard let last else { return (nil, false, moved) }
        let more = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM term_postings_new WHERE term > ?)", arguments: [last])
        return (last, more ?? false, moved)
    }

    /// Folds `term_postings_new` into `term_postings` when it is due (at least
    /// ``MemorySettings/postingsDeltaMinimum`` postings, one in ``MemorySettings/postingsDeltaShare``
    /// of all of them):
    /// one pass over its terms in key order, ``MemorySettings/postingsFoldChunk`` postings per
    /// write transaction, so a store waits for one chunk at most, and at most `limit` chunks in
    /// this call. The rest of the pass is left for later (``foldPass``, the next call goes on
    /// where this one stopped) while the delta holds less than twice its share; past that, the
    /// whole pass now, so stores that never pause cannot let it grow without bound. A whole pass
    /// at a million items is about eleven chunks of 120-180 ms each; run back to back after a
    /// merge, as it was, it made each of the next fifteen or so single stores wait a chunk (the
    /// bench's `allow` singles right after the bulk: p99 114 ms, 2026-12-05 03:12). Postings
    /// merges add behind the pass stay in the delta for the next one.
    /// - Parameters:
    ///   - limit: chunks at most, unless `more` says otherwise.
    ///   - more: asked after `limit` chunks and after each further one: true goes on (the
    ///     merger: no store came during the last chunk, so the pass ends while stores pause
    ///     rather than in the background later, beside the searches that may come then).
    /// - Returns: the transactions it took (0 when not due and no pass was under way).
    @discardableResult
    func foldPostingsIfDue(chunks limit: Int = .max, more: () -> Bool = { false }) throws -> Int {
        let (share, minimum, chunk) = (settings.postingsDeltaShare, settings.postingsDeltaMinimum, settings.postingsFoldChunk)
        let delta: Int
        if let known = deltaPostings.withLock({ $0 }) {
            delta = known
        } else {
            delta = try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM term_postings_new") ?? 0 }
            deltaPostings.withLock { $0 = $0 ?? delta }
        }
        var pass = foldPass.withLock { $0 }
        if pass == nil, delta <= 0 || delta < minimum { return 0 }
        let all = try pool.read { try Self.allPostings($0) }
        if pass == nil {
            guard delta * share >= all else { return 0 }
            pass = FoldPass()
        }
        let urgent = delta * share >= 2 * all
        let observed = foldObserved.current
        var transactions = 0
        do {
            while let under = pass, urgent || transactions < limit || more() {
                let started = ContinuousClock.now
                // Under the writer's lock, as the merges' additions: none is lost in between.
                let (last, more) = try pool.write { db in
                    let step = try Self.foldPostings(
                        db, chunk: chunk, after: under.after, piece: settings.postingsFoldPiece,
                        yield: { writersWaiting.load(ordering: .relaxed) > 0 })
                    if step.more {
                        // The rows its deletes took out of the delta.
                        deltaPostings.withLock { $0 = $0.map { max(0, $0 - step.moved) } }
                    } else {
                        // The pass is done: what merges added behind it is left (deletes from
                        // the table are not counted as they happen, so it is counted here).
                        let left = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM term_postings_new") ?? 0
                        deltaPostings.withLock { $0 = left }
                    }
                    return (step.last, step.more)
                }
                observed?(ContinuousClock.now - started)
                transactions += 1
                pass = more ? FoldPass(after: last) : nil
            }
        } catch {
            deltaPostings.withLock { $0 = nil }
            foldPass.withLock { $0 = nil }
            throw error
        }
        foldPass.withLock { $0 = pass }
        return transactions
    }

    /// Rows one transaction's trims delete at most (a merge's, or one of the background trim
    /// of an older file's groups): about a tenth of a second of deletes.
    static let trimBudget = 20_000

    /// Writes the postings a transaction recorded, in key order (a batch's postings of one term
    /// land on neighbouring pages, each page written once), each group's only below its bound,
    /// and adds them all to the row counts of their terms. A group stored past twice `cap` is
    /// trimmed back to its best `cap` (within ``trimBudget`` rows). The postings of a term
    /// promoted in this transaction are left out: the promotion wrote and counted every row
    /// FTS5 holds it in, the merge's own among them. Call before the transaction deletes
    /// anything (``forgetUnindexed(_:promoted:)`` removes what deleted items had) and before it
    /// commits.
    /// - Returns: the postings written.
    @discardableResult
    static func addCounts(_ db: Database, _ promotions: Promotions, cap: Int) throws -> Int {
        var total = 0
        let pending = promotions.takePending()
        let promoted = promotions.terms
        if !pending.isEmpty {
            // Through SQLite's C API (``RawStatement``), the term and `tf` bound once for a group's rows.
            let insert = try RawStatement(
                db, sql: "INSERT OR IGNORE INTO term_postings_new(term, tf, dl, seq) VALUES (?, ?, ?, ?)")
            // So are each group's lookup and count (a merge at a million items touches thousands).
            let group = try RawStatement(db, sql: "SELECT stored, bound_dl, bound_seq FROM term_groups WHERE term = ? AND tf = ?")
            let grow = try RawStatement(
                db,
                sql: """
                    INSERT INTO term_groups(term, tf, stored) VALUES (?, ?, ?)
                    ON CONFLICT(term, tf) DO UPDATE SET stored = stored + excluded.stored
                    """)
            var budget = trimBudget
            for (term, postings) in pending where !promoted.contains(term) {
                promotions.added(term, postings.count)
                var start = 0
                while start < postings.count {
                    let tf = postings[start].tf
                    var end = start + 1
                    while end < postings.count && postings[end].tf == tf { end += 1 }
                    defer { start = end }
                    group.bind(1, term)
                    group.bind(2, Int64(tf))
                    let row = try group.firstRow { found in
                        (
                            stored: Int(RawStatement.integer(found, 0) ?? 0),
                            bound: RawStatement.integer(found, 1).map { (Int($0), RawStatement.integer(found, 2) ?? 0) }
                        )
                    }
                    let bound = row?.bound
                    var written = 0
                    insert.bind(1, term)
                    insert.bind(2, Int64(tf))
                    for p in postings[start..<end] where bound.map({ (p.dl, p.seq) < $0 }) ?? true {
                        insert.bind(3, Int64(p.dl))
                        insert.bind(4, p.seq)
                        written += try insert.step()
                    }
                    guard written > 0 else { continue }
                    total += written
                    grow.bind(1, term)
                    grow.bind(2, Int64(tf))
                    grow.bind(3, Int64(written))
                    _ = try grow.step()
                    let stored = (row?.stored ?? 0) + written
                    if stored > 2 * cap && budget > 0 {
                        budget -= try trim(db, term: term, tf: tf, stored: stored, keep: cap, limit: budget)
                    }
                }
            }
        }
        let update = try db.cachedStatement(sql: "UPDATE hot_terms SET rows = rows + ? WHERE term = ?")
        for (term, n) in promotions.takeAdded() { try update.execute(arguments: [n, term]) }
        return total
    }

    /// Deletes the worst postings of the `(term, tf)` group of `stored` postings, toward its best
    /// `keep` but at most `limit`, and lowers the group's bound to the best row deleted.
    /// - Returns: the postings deleted.
    @discardableResult
    static func trim(_ db: Database, term: String, tf: Int, stored: Int, keep: Int, limit: Int) throws -> Int {
        let drop = min(stored - keep, limit)
        guard drop > 0 else { return 0 }
        guard
            let cut = try Row.fetchOne(
                db,
                sql: """
                    SELECT dl, seq FROM term_postings WHERE term = ?1 AND tf = ?2
                    UNION ALL SELECT dl, seq FROM term_postings_new WHERE term = ?1 AND tf = ?2
                    ORDER BY dl DESC, seq DESC LIMIT 1 OFFSET ?3
                    """, arguments: [term, tf, drop - 1])
        else {
            // Fewer rows than recorded (the count went wrong somehow): record the true count, so
            // the group is not picked again for nothing.
            try db.execute(
                sql: """
                    UPDATE term_groups SET stored = (SELECT COUNT(*) FROM term_postings WHERE term = ?1 AND tf = ?2)
                        + (SELECT COUNT(*) FROM term_postings_new WHERE term = ?1 AND tf = ?2)
                    WHERE term = ?1 AND tf = ?2
                    """, arguments: [term, tf])
            return 0
        }
        let (dl, seq): (Int, Int64) = (cut[0], cut[1])
        var deleted = 0
        for table in ["term_postings", "term_postings_new"] {
            try db.execute(
                sql: "DELETE FROM \(table) WHERE term = ? AND tf = ? AND (dl, seq) >= (?, ?)",
                arguments: [term, tf, dl, seq])
            deleted += db.changesCount
        }
        try db.execute(
            sql: "UPDATE term_groups SET stored = stored - ?, bound_dl = ?, bound_seq = ? WHERE term = ? AND tf = ?",
            arguments: [deleted, dl, seq, term, tf])
        return deleted
    }

    /// Trims one group stored past twice ``MemorySettings/postingsPerGroup`` (an older file's,
    /// or one a merge's ``trimBudget`` left), in a write transaction of its own.
    /// - Returns: true when it found such a group (more may be left).
    @discardableResult
    func trimOversized(limit: Int = trimBudget) throws -> Bool {
        let cap = settings.postingsPerGroup
        return try pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT term, tf, stored FROM term_groups WHERE stored > ? LIMIT 1", arguments: [2 * cap])
            else { return false }
            // It deleted rows, or corrected a wrong count: either way the next call moves on.
            try Self.trim(db, term: row[0], tf: row[1], stored: row[2], keep: cap, limit: limit)
            return true
        }
    }

    /// Takes the merged items deleted or rewritten so far in this transaction (`items_unindexed`,
    /// filled by the triggers of `items`) off the row counts of their hot terms (hot now, or
    /// `promoted` in this transaction), and deletes their postings by key. Called before a merge
    /// step (so a promotion counts no item already deleted) and before every commit of the
    /// writer's, and at open for what another connection left.
    func forgetUnindexed(_ db: Database, promoted: Set<String>) throws {
        let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT seq, content, sz FROM items_unindexed"))
        guard !rows.isEmpty else { return }
        let deletes = try ["term_postings", "term_postings_new"].map { table in
            try db.cachedStatement(sql: "DELETE FROM \(table) WHERE term = ? AND tf = ? AND dl = ? AND seq = ?")
        }
        let shrink = try db.cachedStatement(sql: "UPDATE term_groups SET stored = stored - 1 WHERE term = ? AND tf = ?")
        var removed: [String: Int] = [:]
        for row in rows {
            let seq: Int64 = row[0]
            let terms = TermCounts(row[1] as String)
            var offset = 0
            let size = (row[2] as Data?).flatMap { BM25.varint(Array($0), at: &offset) }.map(Int.init)
            let length = terms.countsExact ? terms.length : size ?? terms.length
            for (term, tf) in terms.counts where hot.contains(term) || promoted.contains(term) {
                removed[term, default: 0] += 1
                for delete in deletes {
                    try delete.execute(arguments: [term, tf, length, seq])
                    if db.changesCount > 0 { try shrink.execute(arguments: [term, tf]) }
                }
            }
        }
        let update = try db.cachedStatement(sql: "UPDATE hot_terms SET rows = rows - ? WHERE term = ?")
        for (term, n) in removed { try update.execute(arguments: [n, term]) }
        try db.execute(sql: "DELETE FROM items_unindexed")
    }

    /// FTS5's token count of row `seq`.
    static func tokenCount(_ db: Database, seq: Int64) throws -> Int {
        let blob = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT sz FROM items_fts_docsize WHERE id = ?"), arguments: [seq])
        var offset = 0
        return blob.flatMap { BM25.varint(Array($0), at: &offset) }.map(Int.init) ?? 0
    }

    /// Checks the row count of the merge's terms that are due (``MemorySettings/hotTermCheckEvery``),
    /// promoting those that reached ``MemorySettings/hotTermRows`` (recorded in `promotions`
    /// until the transaction commits: the promotion writes every row FTS5 holds the term in,
    /// these items' among them), and records the postings of the items for the terms hot
    /// before it (written by ``addCounts(_:_:cap:)``).
    /// - Parameters:
    ///   - items: the merge's items (in FTS5 already) with their terms.
    ///   - batch: the items of `items` holding each term (not yet in ``frequencies``).
    func indexImpacts(
        _ db: Database, items: [(seq: Int64, terms: TermCounts)], batch: [String: Int], promotions: Promotions
    ) throws {
        let (hot, check) = hot.classify(
            batch, promoted: promotions.terms, checkEvery: max(1, settings.hotTermCheckEvery))
        var postings: [String: [Promotions.Posting]] = [:]
        if !hot.isEmpty {
            for (seq, terms) in items {
                var length: Int?
                for (term, tf) in terms.counts where hot.contains(term) {
                    let dl = try length ?? (terms.countsExact ? terms.length : Self.tokenCount(db, seq: seq))
                    length = dl
                    postings[term, default: []].append(.init(tf: tf, dl: dl, seq: seq))
                }
            }
            promotions.post(postings)
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
                try Self.promote(db, term, cap: settings.postingsPerGroup)
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
    /// Nil too when a group's stored rows ran out while a row past its bound could still enter
    /// (a filter that few of them pass, or a `count` near ``MemorySettings/postingsPerGroup``).
    func impactCandidates(
        _ db: Database, term: String, conditions: String?, arguments: [DatabaseValue], count: Int
    ) throws -> [(seq: Int64, bm25: Double)]? {
        guard TermCounts.isPlainASCII(term), hot.contains(term) else { return nil }
        // The row count kept with the postings: FTS5's own (fts5vocab) walks the whole doclist.
        guard let totals = try Self.indexTotals(db),
            let hits = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT rows FROM hot_terms WHERE term = ?"), arguments: [term]),
            hits > 0
        else { return [] }
        // The groups with rows past their bound, by tf: the best such row's length.
        let bounds = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT tf, bound_dl FROM term_groups WHERE term = ? AND bound_dl IS NOT NULL"),
            arguments: [term]
        ).reduce(into: [Int: Int]()) { $0[$1[0]] = $1[1] }
        let stored = try Int.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT MAX(tf) FROM (SELECT MAX(tf) AS tf FROM term_postings WHERE term = ?1
                        UNION ALL SELECT MAX(tf) FROM term_postings_new WHERE term = ?1)
                    """), arguments: [term])
        let maxTf = max(stored ?? 0, bounds.keys.max() ?? 0)
        let idf = BM25.idf(rows: totals.rows, hits: hits)
        var top = TopImpacts(capacity: count)
        // Both tables' rows of the group in one order (SQLite merges the two index scans); the
        // conditions' `?`s are numbered on from the second table's, so their values go twice.
        let group = try db.cachedStatement(
            sql: conditions.map { conditions in
                ["term_postings", "term_postings_new"].map {
                    """
                    SELECT p.dl, p.seq FROM \($0) AS p CROSS JOIN items ON items.seq = p.seq
                    WHERE p.term = ?1 AND p.tf = ?2 AND \(conditions)
                    """
                }.joined(separator: " UNION ALL ") + " ORDER BY 1, 2"
            } ?? """
                SELECT dl, seq FROM term_postings WHERE term = ?1 AND tf = ?2
                UNION ALL SELECT dl, seq FROM term_postings_new WHERE term = ?1 AND tf = ?2 ORDER BY 1, 2
                """)
        let arguments = conditions == nil ? [] : arguments + arguments
        for tf in stride(from: maxTf, through: 1, by: -1) {
            // A row holding the term tf times has at least tf tokens.
            let bound = BM25.impact(idf: idf, frequency: tf, length: tf, averageLength: totals.averageLength)
            guard top.admits(bound) else { continue }
            let rows = try Row.fetchCursor(
                group, arguments: StatementArguments([term.databaseValue, tf.databaseValue] + arguments))
            var exhausted = true
            while let row = try rows.next() {
                let impact = BM25.impact(
                    idf: idf, frequency: tf, length: row[0], averageLength: totals.averageLength)
                guard top.admits(impact) else {
                    exhausted = false
                    break
                }
                top.offer(seq: row[1], impact: impact)
            }
            // Every stored row of the group was taken: one past its bound might enter too.
            if exhausted, let length = bounds[tf],
                top.admits(BM25.impact(idf: idf, frequency: tf, length: length, averageLength: totals.averageLength))
            {
                return nil
            }
        }
        return top.best.map { ($0.seq, BM25.rank(impact: $0.impact)) }
    }
}

/// Where a fold of the postings delta left off (``MemoryStore/foldPostingsIfDue(chunks:)``).
struct FoldPass: Sendable {
    /// The last term moved (nil before the first chunk).
    var after: String?
}
