import Foundation
import GRDB
import MemoryCore

extension MemoryStore {
    /// Retrieves an item and reinforces it (access count + 1, last access now).
    /// - Parameter id: the item.
    /// - Returns: the item after reinforcement, with its links.
    /// - Throws: ``MemoryError`` 404 for an unknown or expired id.
    func get(id: String) async throws -> (MemoryItem, [MemoryLink]) {
        let now = clock()
        return try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM items WHERE id = ? AND \(Self.visible)", arguments: [id, now.timeIntervalSince1970])
            else { throw MemoryError.notFound(id) }
            let seq: Int64 = row["seq"]
            try db.execute(
                sql: "UPDATE items SET access_count = access_count + 1, last_accessed_at = ? WHERE seq = ?",
                arguments: [now.timeIntervalSince1970, seq])
            var item = MemoryItem(row: row)
            item.accessCount += 1
            item.lastAccessedAt = now
            return (item, try Self.links(db, seqs: [seq])[seq] ?? [])
        }
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
    /// - Parameters:
    ///   - filter: which items.
    ///   - limit: most items.
    /// - Returns: items with their links.
    func list(_ filter: ItemFilter, limit: Int) async throws -> [(MemoryItem, [MemoryLink])] {
        let (conditions, arguments) = Self.conditions(filter, now: clock())
        let limit = max(1, min(limit, settings.maxResults))
        return try await pool.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM items WHERE \(conditions) ORDER BY created_at DESC, seq DESC LIMIT ?",
                arguments: StatementArguments(arguments + [limit.databaseValue]))
            let links = try Self.links(db, seqs: rows.map { $0["seq"] })
            return rows.map { (MemoryItem(row: $0), links[$0["seq"]] ?? []) }
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
        let run = searchOperation(query, filter: filter, limit: limit, reinforce: reinforce)
        return reinforce ? try await pool.write(run) : try await pool.read(run)
    }

    /// ``search(_:filter:limit:reinforce:)`` on the caller's thread (for the `memory.search`
    /// service table, whose callers run on threads of their own).
    func searchBlocking(_ query: FTSQuery, filter: ItemFilter, limit: Int, reinforce: Bool = true) throws -> [SearchHit] {
        let run = searchOperation(query, filter: filter, limit: limit, reinforce: reinforce)
        return reinforce ? try pool.write(run) : try pool.read(run)
    }

    private func searchOperation(_ query: FTSQuery, filter: ItemFilter, limit: Int, reinforce: Bool)
        -> @Sendable (Database) throws -> [SearchHit]
    {
        let now = clock()
        let (conditions, arguments) = Self.conditions(filter, now: now)
        let limit = max(1, min(limit, settings.maxResults))
        let retention = settings.retention
        let sql = """
            SELECT items.*, bm25(items_fts) AS rank FROM items_fts JOIN items ON items.seq = items_fts.rowid
            WHERE items_fts MATCH ? AND \(conditions) ORDER BY rank LIMIT ?
            """
        return { [self] db in
            let rows: [(row: Row, bm25: Double)]
            if query.words.count == 1,
                let top = try impactCandidates(
                    db, term: query.words[0], conditions: conditions, arguments: arguments, count: Self.candidates(for: limit))
            {
                rows = try Self.rows(db, ranked: top)
            } else {
                do {
                    rows = try Row.fetchAll(
                        db, sql: sql,
                        arguments: StatementArguments(
                            [query.expression.databaseValue] + arguments + [Self.candidates(for: limit).databaseValue])
                    ).map { ($0, $0["rank"]) }
                } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
                    throw MemoryError.badQuery("the query is not valid FTS5 syntax: \(error.message ?? "unknown error")")
                }
            }
            var hits = rows.map { row, bm25 in
                let item = MemoryItem(row: row)
                return SearchHit(
                    item: item, links: [],
                    score: Ranker.score(item, bm25: bm25, weights: retention.policy(item.layer).weights, now: now), bm25: bm25)
            }
            hits.sort { ($0.score, $1.item.createdAt) > ($1.score, $0.item.createdAt) }
            hits = Array(hits.prefix(limit))
            let seqs = rows.reduce(into: [String: Int64]()) { $0[$1.row["id"]] = $1.row["seq"] }
            let links = try Self.links(db, seqs: hits.compactMap { seqs[$0.item.id] })
            for i in hits.indices { hits[i].links = seqs[hits[i].item.id].flatMap { links[$0] } ?? [] }
            if reinforce && !hits.isEmpty {
                let marks = Array(repeating: "?", count: hits.count).joined(separator: ",")
                try db.execute(
                    sql: "UPDATE items SET access_count = access_count + 1, last_accessed_at = ? WHERE id IN (\(marks))",
                    arguments: StatementArguments([now.timeIntervalSince1970] + hits.map(\.item.id)))
            }
            return hits
        }
    }

    /// The rows of `items` for ranked candidates with their `bm25()` values, in the candidates'
    /// order.
    static func rows(_ db: Database, ranked: [(seq: Int64, bm25: Double)]) throws -> [(row: Row, bm25: Double)] {
        guard !ranked.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: ranked.count).joined(separator: ",")
        let bySeq = try Row.fetchAll(
            db, sql: "SELECT * FROM items WHERE seq IN (\(marks))", arguments: StatementArguments(ranked.map(\.seq))
        ).reduce(into: [Int64: Row]()) { $0[$1["seq"]] = $1 }
        return ranked.compactMap { candidate in bySeq[candidate.seq].map { ($0, candidate.bm25) } }
    }

    /// How many BM25 hits are re-ranked for a search returning `limit`: enough that recency,
    /// importance and reinforcement can lift an item from well below the top.
    static func candidates(for limit: Int) -> Int { max(200, limit * 10) }
}
