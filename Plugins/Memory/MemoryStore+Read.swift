import Foundation
import GRDB
import JameyPluginKit
import MemoryCore

extension MemoryStore {
    /// Retrieves an item and reinforces it (access count + 1, last access now).
    ///
    /// A read: the reinforcement is noted (``Reinforcements``) and written by the writer's next
    /// transaction, so a get never waits for a store or a merge.
    /// - Parameter id: the item.
    /// - Returns: the item after reinforcement, with its links.
    /// - Throws: ``MemoryError`` 404 for an unknown or expired id.
    func get(id: String) async throws -> (MemoryItem, [MemoryLink]) {
        let now = clock()
        let (seq, read, links) = try await pool.read { [reinforcements] db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT * FROM items WHERE id = ? AND \(Self.visible)"),
                    arguments: [id, now.timeIntervalSince1970])
            else { throw MemoryError.notFound(id) }
            let seq: Int64 = row["seq"]
            let item = reinforcements.overlaid(MemoryItem(row: row), seq: seq, epoch: try Reinforcements.epoch(db))
            return (seq, item, try Self.links(db, seqs: [seq])[seq] ?? [])
        }
        var item = read
        item.accessCount += 1
        item.lastAccessedAt = now
        noteRetrievals([(seq, id)], contents: [item.content], at: now)
        return (item, links)
    }

    /// Notes retrievals for the writer (``Reinforcements``), tells ``retrievalNoted`` the items'
    /// `contents`, and schedules a flush that writes them ``Reinforcements/flushDelay`` later
    /// unless one is scheduled already.
    func noteRetrievals(_ items: [(seq: Int64, id: String)], contents: [String], at time: Date) {
        let scheduled = reinforcements.note(items, at: time)
        if !items.isEmpty, let noted = retrievalNoted.current { noted(contents) }
        guard scheduled else { return }
        Task.detached { [self] in
            try? await Task.sleep(for: Reinforcements.flushDelay)
            reinforcements.flushStarting()
            guard !reinforcements.isEmpty else { return }
            // Any transaction of the writer's writes them; a failed one leaves them noted.
            _ = try? await eventWrite(events: nil) { _ in () }
        }
    }

    /// Writes the noted retrievals now (before a snapshot, at stop).
    func flushReinforcements() throws {
        guard !reinforcements.isEmpty else { return }
        try mergingWrite { _, _ in ((), MergeOutcome()) }
    }

    /// The SQL conditions and arguments of a filter (always including visibility at `now`).
    static func conditions(_ filter: ItemFilter, now: Date) -> (String, [DatabaseValue]) {
        var parts = [visible]
        var arguments: [(any DatabaseValueConvertible)?] = [now.timeIntervalSince1970]
        if !filter.layers.isEmpty {
            parts.append("items.layer IN (\(Array(repeating: "?", count: filter.layers.count).joined(separator: ",")))")
            arguments += filter.layers.map(\.name)
        }
        for tag in filter.tags {
            parts.append("EXISTS (SELECT 1 FROM json_each(items.tags) WHERE json_each.value = ?)")
            arguments.append(tag)
        }
        if let source = filter.source {
            parts.append("items.source = ?")
            arguments.append(source)
        }
        if let since = filter.since {
            parts.append("items.created_at >= ?")
            arguments.append(since)
        }
        if let until = filter.until {
            parts.append("items.created_at < ?")
            arguments.append(until)
        }
        return (parts.joined(separator: " AND "), arguments.map { $0?.databaseValue ?? .null })
    }

    /// Lists items, newest first, without reinforcing them.
    ///
    /// Filtered by tags, the list reads the first tag's items from `item_tags`, newest first, and
    /// tests only those (``createTagAndSourceIndexes(_:)``); by a source, SQLite reads them from
    /// the index by source and time.
    /// - Parameters:
    ///   - filter: which items.
    ///   - limit: most items.
    /// - Returns: items with their links.
    func list(_ filter: ItemFilter, limit: Int) async throws -> [(MemoryItem, [MemoryLink])] {
        // The first tag is the join's (item_tags), so the per-row conditions test only the others.
        var rest = filter
        let tag = rest.tags.isEmpty ? nil : rest.tags.removeFirst()
        let (conditions, arguments) = Self.conditions(rest, now: clock())
        let limit = max(1, min(limit, settings.maxResults))
        let sql: String
        var all = arguments + [limit.databaseValue]
        if let tag {
            sql = """
                SELECT items.* FROM item_tags CROSS JOIN items ON items.seq = item_tags.seq
                WHERE item_tags.tag = ? AND \(conditions) ORDER BY item_tags.created_at DESC, item_tags.seq DESC LIMIT ?
                """
            all.insert(tag.databaseValue, at: 0)
        } else {
            sql = "SELECT * FROM items WHERE \(conditions) ORDER BY created_at DESC, seq DESC LIMIT ?"
        }
        return try await pool.read { [reinforcements, all] db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(all))
            let links = try Self.links(db, seqs: rows.map { $0["seq"] })
            let epoch = try Reinforcements.epoch(db)
            return rows.map {
                (reinforcements.overlaid(MemoryItem(row: $0), seq: $0["seq"], epoch: epoch), links[$0["seq"]] ?? [])
            }
        }
    }

    /// Searches item contents and ranks the hits (``Ranker`` with each item's layer's weights).
    ///
    /// The best ``candidates(for:)`` hits by BM25 are re-ranked; the top `limit` are returned
    /// and, with `reinforce`, reinforced. A one-word query for a frequent term takes its
    /// candidates from the impact-ordered postings (``impactCandidates``: the same rows and
    /// `bm25()` values FTS5 would give, without scoring every row holding the term); any other
    /// query asks FTS5.
    /// - Parameters:
    ///   - query: the FTS5 expression (``FTSQuery``).
    ///   - filter: which items.
    ///   - limit: most hits.
    ///   - reinforce: count the returned hits as retrieved.
    /// - Throws: ``MemoryError`` 400 when SQLite refuses the query.
    func search(_ query: FTSQuery, filter: ItemFilter, limit: Int, reinforce: Bool = true) async throws -> [SearchHit] {
        let ftsOnly = PendingTail.terms(of: query) == nil
        if ftsOnly && !tail.isEmpty { await mergeBacklogOffPool() }
        let now = clock()
        var hits: [SearchHit]
        do {
            hits = try await pool.read(searchOperation(query, filter: filter, limit: limit, now: now, ftsOnly: ftsOnly))
        } catch is UnmergedItems {
            await mergeBacklogOffPool()
            hits = try await pool.read(searchOperation(query, filter: filter, limit: limit, now: now, ftsOnly: false))
        }
        if reinforce { noteRetrievals(hits.map { ($0.seq, $0.item.id) }, contents: hits.map(\.item.content), at: now) }
        return hits
    }

    /// ``mergeBacklog(pause:)`` for an async caller, on a thread of its own: the merge waits for
    /// the writer (behind a store or the background merge) and then runs for as long as the
    /// backlog takes, a second or more at a million items, and a caller on the concurrency pool
    /// must not hold one of its threads (one per core) for that: every plugin's async work
    /// shares them.
    func mergeBacklogOffPool() async {
        await onOwnThread(named: "memory-search-merge") { [self] in mergeBacklog() }
    }

    /// ``search(_:filter:limit:reinforce:)`` on the caller's thread (for the `memory.search`
    /// service table, whose callers run on threads of their own).
    func searchBlocking(_ query: FTSQuery, filter: ItemFilter, limit: Int, reinforce: Bool = true) throws -> [SearchHit] {
        let ftsOnly = PendingTail.terms(of: query) == nil
        if ftsOnly && !tail.isEmpty { mergeBacklog() }
        let now = clock()
        var hits: [SearchHit]
        do {
            hits = try pool.read(searchOperation(query, filter: filter, limit: limit, now: now, ftsOnly: ftsOnly))
        } catch is UnmergedItems {
            mergeBacklog()
            hits = try pool.read(searchOperation(query, filter: filter, limit: limit, now: now, ftsOnly: false))
        }
        if reinforce { noteRetrievals(hits.map { ($0.seq, $0.item.id) }, contents: hits.map(\.item.content), at: now) }
        return hits
    }

    /// A search FTS5 alone answers found items its snapshot lacks in FTS5 (``PendingTail/unmerged(at:)``).
    struct UnmergedItems: Error {}

    /// The search as a read at `now`: the hits, not reinforced (the caller notes them).
    ///
    /// With `ftsOnly` (a query ``PendingTail`` cannot answer), it throws ``UnmergedItems`` when
    /// the snapshot lacks a held item in FTS5: the caller merges and reads again. Checking
    /// `tail.isEmpty` before the read is not enough: a merge retires its items before it commits,
    /// and a search that began in between missed them (a stored item absent from a prefix search,
    /// which the search cache then kept).
    private func searchOperation(_ query: FTSQuery, filter: ItemFilter, limit: Int, now: Date, ftsOnly: Bool)
        -> @Sendable (Database) throws -> [SearchHit]
    {
        let (conditions, arguments) = Self.conditions(filter, now: now)
        let limit = max(1, min(limit, settings.maxResults))
        let retention = settings.retention
        let sql = """
            SELECT items.seq, items.layer, items.importance, items.created_at, items.last_accessed_at, items.access_count,
                bm25(items_fts) AS rank
            FROM items_fts JOIN items ON items.seq = items_fts.rowid
            WHERE items_fts MATCH ? AND \(conditions) ORDER BY rank LIMIT ?
            """
        let admitsAll = filter.admitsAll
        let timeout = settings.searchTimeout
        return { [self] db in
            // SQLite stops the search at its deadline (an interrupt from the progress handler).
            let deadline = timeout.map { SearchDeadline(db, after: $0) }
            defer { deadline?.clear(db) }
            do {
                return try searchRows(
                    db, query, filter: filter, limit: limit, now: now, ftsOnly: ftsOnly, sql: sql, conditions: conditions,
                    arguments: arguments, admitsAll: admitsAll)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT && deadline?.passed == true {
                throw MemoryError.searchTimeout(timeout ?? .zero)
            }
        }
    }

    /// The body of ``searchOperation(_:filter:limit:now:ftsOnly:)`` within a read.
    private func searchRows(
        _ db: Database, _ query: FTSQuery, filter: ItemFilter, limit: Int, now: Date, ftsOnly: Bool, sql: String,
        conditions: String, arguments: [DatabaseValue], admitsAll: Bool
    ) throws -> [SearchHit] {
        let retention = settings.retention
        do {
            // The snapshot's write epoch: which merges it holds, and which retrievals it lacks.
            let epoch = try Reinforcements.epoch(db)
            if ftsOnly && tail.unmerged(at: epoch) { throw UnmergedItems() }
            // The tail keeps what later merges retire until this read ends (it counts them).
            if !ftsOnly { tail.beginRead(epoch: epoch) }
            defer { if !ftsOnly { tail.endRead(epoch: epoch) } }
            if !ftsOnly { duringSearch.current?(()) }
            // The candidates with only what ranking needs; contents are read for the hits only.
            // With no filter and no item expired but not yet swept, every indexed row is visible:
            // the best rows are found in the index alone, and items is read for those only.
            let everyRowVisible = try admitsAll && !Self.anyExpired(db, now: now)
            var candidates: [Candidate]
            if query.words.count == 1,
                let top = try impactCandidates(
                    db, term: query.words[0], conditions: everyRowVisible ? nil : conditions, arguments: arguments,
                    count: Self.candidates(for: limit))
            {
                candidates = try Self.candidates(db, ranked: top)
            } else {
                do {
                    if everyRowVisible {
                        let rows = try Row.fetchCursor(
                            db.cachedStatement(sql: Self.indexOnly),
                            arguments: [query.expression, Self.candidates(for: limit)])
                        var ranked: [(seq: Int64, bm25: Double)] = []
                        while let row = try rows.next() { ranked.append((row[0], row[1])) }
                        candidates = try Self.candidates(db, ranked: ranked)
                    } else {
                        let statement = try db.cachedStatement(sql: sql)
                        let rows = try Row.fetchCursor(
                            statement,
                            arguments: StatementArguments(
                                [query.expression.databaseValue] + arguments + [Self.candidates(for: limit).databaseValue]))
                        var found: [Candidate] = []
                        while let row = try rows.next() { found.append(Candidate(row, bm25: row[6])) }
                        candidates = found
                    }
                } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
                    throw MemoryError.badQuery("the query is not valid FTS5 syntax: \(error.message ?? "unknown error")")
                }
            }
            // Pending items (not yet in FTS5) from the tail, merged by BM25 with the index's.
            if tail.held > 0, let terms = PendingTail.terms(of: query) {
                let count = Self.candidates(for: limit)
                // When the index's candidates fill the list, a pending item must rank better than
                // the worst of them to enter it (on a tie the index's comes first in the merge).
                let cut = candidates.count >= count ? candidates.lazy.map(\.bm25).max() : nil
                let pending = try tailCandidates(
                    db, query: query, words: terms, conditions: conditions, arguments: arguments, count: count,
                    below: cut, epoch: epoch)
                if !pending.isEmpty {
                    let indexed = Set(candidates.map(\.seq))
                    candidates = Array(
                        (candidates + pending.filter { !indexed.contains($0.seq) }).enumerated()
                            .sorted { ($0.element.bm25, $0.offset) < ($1.element.bm25, $1.offset) }
                            .map(\.element).prefix(count))
                }
            }
            // Retrievals this snapshot lacks count as if it held them.
            if reinforcements.anyOverlay(epoch: epoch) {
                candidates = candidates.map { c in
                    guard let p = reinforcements.overlay(c.seq, epoch: epoch) else { return c }
                    var c = c
                    c.accessCount += p.count
                    c.lastAccessed = p.last
                    return c
                }
            }
            let scored = candidates.enumerated().map { index, c in
                let weights = retention.policy(c.layer).weights
                let score = Ranker.score(
                    bm25: c.bm25, lastAccess: Date(timeIntervalSince1970: c.lastAccessed), importance: c.importance,
                    accessCount: c.accessCount, weights: weights, now: now)
                return (candidate: c, score: score, index: index)
            }
            // Best score first; on a tie the older item, then the better BM25 rank.
            let best = scored.sorted {
                ($0.score, $1.candidate.createdAt, $1.index) > ($1.score, $0.candidate.createdAt, $0.index)
            }.prefix(limit)
            let rows = try Self.rows(db, ranked: best.map { ($0.candidate.seq, $0.candidate.bm25) })
            let scores = Dictionary(uniqueKeysWithValues: best.map { ($0.candidate.seq, $0.score) })
            let links = try Self.links(db, seqs: best.map(\.candidate.seq))
            let hits = rows.map { row, bm25 in
                let seq: Int64 = row["seq"]
                return SearchHit(
                    seq: seq, item: reinforcements.overlaid(MemoryItem(row: row), seq: seq, epoch: epoch),
                    links: links[seq] ?? [],
                    score: scores[seq] ?? 0, bm25: bm25)
            }
            return hits
        }
    }

    /// The best rows of an FTS5 query by `bm25()`, from the index alone.
    static let indexOnly = "SELECT rowid, bm25(items_fts) AS rank FROM items_fts WHERE items_fts MATCH ? ORDER BY rank LIMIT ?"

    /// True when an item expired at `now` is still stored (the sweep has not reached it); read
    /// through the partial index on `expires_at`, so it costs a step into that index.
    static func anyExpired(_ db: Database, now: Date) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(
                sql: "SELECT EXISTS (SELECT 1 FROM items WHERE \(expired))"),
            arguments: [now.timeIntervalSince1970]) ?? true
    }

    /// A search candidate: what re-ranking needs of an item.
    struct Candidate {
        var seq: Int64
        var layer: MemoryLayer
        var importance: Double
        var createdAt: Double
        var lastAccessed: Double
        var accessCount: Int
        var bm25: Double

        /// From a row of `seq, layer, importance, created_at, last_accessed_at, access_count`.
        init(_ row: Row, bm25: Double) {
            seq = row[0]
            layer = MemoryLayer(name: row[1]) ?? .shortTerm
            importance = row[2]
            createdAt = row[3]
            lastAccessed = row[4]
            accessCount = row[5]
            self.bm25 = bm25
        }
    }

    /// The ranking fields of candidates with their `bm25()` values, in the candidates' order.
    ///
    /// Read through a cursor, each field decoded straight from the statement: copying each of
    /// the 200 rows first (`fetchAll`) and decoding the copies took about 40 % of this (perf at
    /// 100 000 items, mid-frequency words).
    static func candidates(_ db: Database, ranked: [(seq: Int64, bm25: Double)]) throws -> [Candidate] {
        guard !ranked.isEmpty else { return [] }
        var bySeq: [Int64: Candidate] = [:]
        bySeq.reserveCapacity(ranked.count)
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT seq, layer, importance, created_at, last_accessed_at, access_count FROM items
                    WHERE \(inSeqs("seq"))
                    """), arguments: [seqList(ranked.map(\.seq))])
        while let row = try rows.next() {
            let candidate = Candidate(row, bm25: 0)
            bySeq[candidate.seq] = candidate
        }
        return ranked.compactMap { ranked in
            bySeq[ranked.seq].map {
                var candidate = $0
                candidate.bm25 = ranked.bm25
                return candidate
            }
        }
    }

    /// The rows of `items` for ranked candidates with their `bm25()` values, in the candidates'
    /// order.
    static func rows(_ db: Database, ranked: [(seq: Int64, bm25: Double)]) throws -> [(row: Row, bm25: Double)] {
        guard !ranked.isEmpty else { return [] }
        let bySeq = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM items WHERE \(inSeqs("seq"))"), arguments: [seqList(ranked.map(\.seq))]
        ).reduce(into: [Int64: Row]()) { $0[$1["seq"]] = $1 }
        return ranked.compactMap { candidate in bySeq[candidate.seq].map { ($0, candidate.bm25) } }
    }

    /// How many BM25 hits are re-ranked for a search returning `limit`: enough that recency,
    /// importance and reinforcement can lift an item from well below the top.
    static func candidates(for limit: Int) -> Int { max(200, limit * 10) }
}
