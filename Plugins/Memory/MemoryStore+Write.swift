import Foundation
import GRDB
import MemoryCore

/// What storing one item did.
struct StoreOutcome: Sendable {
    /// The stored item, or the existing one a near-duplicate was merged into.
    var item: MemoryItem
    /// True when the item was merged into an existing near-duplicate.
    var merged: Bool
}

extension MemoryStore {
    /// Checks an item before anything is written.
    func validate(_ item: NewItem) throws(MemoryError) {
        let bytes = item.content.utf8.count
        guard bytes > 0, !item.content.allSatisfy(\.isWhitespace) else { throw .badRequest("content is empty") }
        guard bytes <= settings.maxContentBytes else {
            throw .tooLarge("content is \(bytes) bytes; at most \(settings.maxContentBytes) are allowed (max_content_bytes)")
        }
        guard (0...1).contains(item.importance) else { throw .badRequest("importance must be between 0 and 1") }
        guard item.tags.count <= 32, item.tags.allSatisfy({ (1...64).contains($0.count) }) else {
            throw .badRequest("at most 32 tags of 1 to 64 characters each are allowed")
        }
        guard item.source.count <= 128 else { throw .badRequest("source is longer than 128 characters") }
        guard item.links.count <= 64, item.links.allSatisfy({ MemoryLink.kinds.contains($0.kind) && !$0.target.isEmpty })
        else { throw .badRequest("links need a kind ('entity' or 'item') and a target; at most 64 are allowed") }
        if item.pinned && !settings.retention.policy(item.layer).allowsPinning {
            throw .badRequest("items in the \(item.layer) layer cannot be pinned")
        }
    }

    /// Stores items in one transaction: all of them or, on any error, none.
    /// - Parameters:
    ///   - items: the items (at most ``MemorySettings/maxBatch``).
    ///   - events: receives the item events (`stored`, `updated` for a merge, `deleted` for an
    ///     eviction) of the transaction.
    /// - Returns: one outcome per item, in order.
    /// - Throws: ``MemoryError`` (nothing stored).
    func store(_ items: [NewItem], events: ItemEvents? = nil) async throws -> [StoreOutcome] {
        guard !items.isEmpty else { throw MemoryError.badRequest("nothing to store") }
        guard items.count <= settings.maxBatch else {
            throw MemoryError.tooLarge("a batch holds at most \(settings.maxBatch) items; this one has \(items.count)")
        }
        for item in items { try validate(item) }
        // A tail past its bound is merged by the store that finds it so (the merger is behind).
        if tail.count >= settings.maxPending { try await mergeBatch() }
        let now = clock()
        // A near-duplicate check looks through FTS5: with it on, the store merges whatever is
        // pending (the items before it in the batch) first, as indexing inline did.
        let dedupe = settings.duplicates != .allow
        // The tail's terms, counted before the writer's lock is taken.
        let terms = dedupe ? [] : items.map { TermCounts($0.content) }
        let outcomes = try await mergingWrite(events: events) { [self] db, promotions in
            var outcomes: [StoreOutcome] = []
            var merged = MergeOutcome()
            for (index, item) in items.enumerated() {
                if dedupe { merged.seqs += try mergeStep(db, limit: Int.max, promotions: promotions).seqs }
                let outcome = try insert(db, item, now: now, terms: dedupe ? nil : terms[index])
                events?.append(
                    outcome.merged ? ItemEvent(.updated, outcome.item, ["reason": "merged"]) : ItemEvent(.stored, outcome.item))
                outcomes.append(outcome)
            }
            if dedupe { merged.seqs += try mergeStep(db, limit: Int.max, promotions: promotions).seqs }
            for layer in Set(items.map(\.layer)) { _ = try enforceCapacity(db, layer: layer, events: events) }
            return (outcomes, merged)
        }
        if !dedupe { pendingCommitted() }
        return outcomes
    }

    /// Merges one batch of pending items (``mergePending(limit:)``) on GRDB's writer queue.
    func mergeBatch() async throws {
        let limit = settings.mergeBatch
        try await mergingWrite { [self] db, promotions in ((), try mergeStep(db, limit: limit, promotions: promotions)) }
    }

    private func insert(_ db: Database, _ new: NewItem, now: Date, terms: TermCounts?) throws -> StoreOutcome {
        if settings.duplicates != .allow,
            let (existing, similarity) = try nearDuplicate(db, of: new.content, in: new.layer, now: now)
        {
            if settings.duplicates == .reject { throw MemoryError.duplicate(of: existing.item.id, similarity: similarity) }
            var merged = existing.item
            merged.accessCount += 1
            merged.lastAccessedAt = now
            merged.importance = max(merged.importance, new.importance)
            merged.tags += new.tags.filter { !merged.tags.contains($0) }
            try db.execute(
                sql: "UPDATE items SET access_count = ?, last_accessed_at = ?, importance = ?, tags = ? WHERE seq = ?",
                arguments: [
                    merged.accessCount, now.timeIntervalSince1970, merged.importance, MemoryItem.tagsText(merged.tags),
                    existing.seq,
                ])
            return StoreOutcome(item: merged, merged: true)
        }
        let item = MemoryItem(
            id: UUID().uuidString.lowercased(), layer: new.layer, content: new.content, tags: new.tags, source: new.source,
            importance: new.importance, createdAt: now,
            expiresAt: settings.retention.expiry(layer: new.layer, at: now, pinned: new.pinned), pinned: new.pinned)
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO items(id, layer, content, tags, source, importance, created_at, last_accessed_at, access_count,
                                  expires_at, pinned)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
                """)
        try statement.execute(
            arguments: [
                item.id, item.layer.name, item.content, MemoryItem.tagsText(item.tags), item.source, item.importance,
                now.timeIntervalSince1970, now.timeIntervalSince1970, item.expiresAt?.timeIntervalSince1970, item.pinned,
            ])
        let seq = db.lastInsertedRowID
        // Pending now (the insert trigger logged it); searchable from the tail until merged.
        if let terms { tail.add(seq: seq, terms: terms) }
        if !new.links.isEmpty { try Self.setLinks(db, seq: seq, new.links) }
        return StoreOutcome(item: item, merged: false)
    }

    /// The most similar visible item of `layer` at or above the threshold, found among the
    /// best FTS5 matches of the text's words.
    func nearDuplicate(_ db: Database, of content: String, in layer: MemoryLayer, now: Date, excluding seq: Int64? = nil)
        throws -> ((seq: Int64, item: MemoryItem), Double)?
    {
        let words = try Self.rarestWords(db, of: content, count: 5, budget: Self.duplicateCandidateBudget)
        guard !words.isEmpty, let query = try? FTSQuery(words.joined(separator: " "), mode: .any) else { return nil }
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT items.* FROM items_fts JOIN items ON items.seq = items_fts.rowid
                WHERE items_fts MATCH ? AND items.layer = ? AND \(Self.visible) AND items.seq != ?
                ORDER BY bm25(items_fts) LIMIT 20
                """, arguments: [query.expression, layer.name, now.timeIntervalSince1970, seq ?? -1])
        let detector = settings.nearDuplicate
        let shingles = detector.shingles(content)
        var best: ((Int64, MemoryItem), Double)?
        for row in rows {
            let item = MemoryItem(row: row)
            let similarity = NearDuplicate.jaccard(shingles, detector.shingles(item.content))
            if similarity >= detector.threshold && similarity > (best?.1 ?? -1) { best = ((row["seq"], item), similarity) }
        }
        return best.map { (($0.0.0, $0.0.1), $0.1) }
    }

    /// About how many rows the near-duplicate query may score (``rarestWords(_:of:count:budget:)``).
    static let duplicateCandidateBudget = 2000

    /// Up to `count` words of `content` found in the fewest items, rarest first, taken while
    /// the rows holding them add up to at most `budget`; when fewer than two fit, the `count`
    /// rarest. Words in no item are skipped: a near-duplicate shares most words, so it contains
    /// some of the rarest, and at least one of any two of them unless both were changed (which
    /// a text survives at similarity 0.8 only when both sit at its ends). FTS5 scores every row
    /// matching any word before it sorts, so a text with a few common words among its rarest
    /// made a store score tens of thousands of rows (the p99 of single stores with
    /// `duplicates: merge`). Falls back to the first words when the index knows none of them.
    static func rarestWords(_ db: Database, of content: String, count: Int, budget: Int = .max) throws -> [String] {
        let words = Array(Set(FTSQuery.words(content))).sorted().prefix(64)
        var known: [(String, Int)] = []
        // A hot term's count is kept in hot_terms; fts5vocab would walk its whole doclist.
        let hotCount = try db.cachedStatement(sql: "SELECT rows FROM hot_terms WHERE term = ?")
        let vocabCount = try db.cachedStatement(sql: "SELECT doc FROM items_vocab WHERE term = ?")
        for word in words {
            let n = try Int.fetchOne(hotCount, arguments: [word]) ?? Int.fetchOne(vocabCount, arguments: [word]) ?? 0
            if n > 0 { known.append((word, n)) }
        }
        guard !known.isEmpty else { return Array(words.prefix(count)) }
        let rarest = known.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(count)
        var chosen: [String] = []
        var rows = 0
        for (word, n) in rarest {
            if rows + n > budget { break }
            chosen.append(word)
            rows += n
        }
        // Fewer than two rare enough: all `count` rarest, whatever they cost (a duplicate of a
        // text of common words ranks first only by matching more of them).
        return chosen.count >= min(2, rarest.count) ? chosen : rarest.map(\.0)
    }

    /// Removes the oldest unpinned items of `layer` beyond its capacity (a `deleted` event with
    /// `reason: "evicted"` each).
    /// - Returns: how many were removed.
    func enforceCapacity(_ db: Database, layer: MemoryLayer, events: ItemEvents?) throws -> Int {
        guard let capacity = settings.retention.policy(layer).capacity else { return 0 }
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM items WHERE layer = ?", arguments: [layer.name]) ?? 0
        guard count > capacity else { return 0 }
        let gone = try Row.fetchAll(
            db,
            sql: """
                DELETE FROM items WHERE seq IN (
                    SELECT seq FROM items WHERE layer = ? AND pinned = 0 ORDER BY created_at, seq LIMIT ?)
                RETURNING id, layer, source
                """, arguments: [layer.name, count - capacity])
        for row in gone { events?.append(ItemEvent(.deleted, row: row, ["reason": "evicted"])) }
        return gone.count
    }

    /// Changes an item.
    /// - Parameters:
    ///   - id: the item.
    ///   - patch: what changes.
    ///   - events: receives the item events (`updated`, `deleted` for evictions).
    /// - Returns: the item after the change.
    /// - Throws: ``MemoryError`` (404 for an unknown or expired id).
    func update(id: String, _ patch: ItemPatch, events: ItemEvents? = nil) async throws -> MemoryItem {
        let now = clock()
        let updated = try await eventWrite(events: events) { [self] db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM items WHERE id = ? AND \(Self.visible)", arguments: [id, now.timeIntervalSince1970])
            else { throw MemoryError.notFound(id) }
            let seq: Int64 = row["seq"]
            var item = MemoryItem(row: row)
            let check = NewItem(
                layer: patch.layer ?? item.layer, content: patch.content ?? item.content, tags: patch.tags ?? item.tags,
                source: item.source, importance: patch.importance ?? item.importance, pinned: patch.pinned ?? item.pinned,
                links: patch.links ?? [])
            try validate(check)
            let retime = (patch.pinned != nil && patch.pinned != item.pinned) || (patch.layer != nil && patch.layer != item.layer)
            item.layer = check.layer
            item.content = check.content
            item.tags = check.tags
            item.importance = check.importance
            item.pinned = check.pinned
            if retime { item.expiresAt = settings.retention.expiry(layer: item.layer, at: now, pinned: item.pinned) }
            try db.execute(
                sql:
                    "UPDATE items SET layer = ?, content = ?, tags = ?, importance = ?, pinned = ?, expires_at = ? WHERE seq = ?",
                arguments: [
                    item.layer.name, item.content, MemoryItem.tagsText(item.tags), item.importance, item.pinned,
                    item.expiresAt?.timeIntervalSince1970, seq,
                ])
            // The update triggers dropped the old content from FTS5 and the postings and queued
            // the item for the merge.
            tail.add(seq: seq, content: item.content)
            if let links = patch.links { try Self.setLinks(db, seq: seq, links) }
            var detail = ["reason": "update"]
            if let from = MemoryLayer(name: row["layer"]), from != item.layer { detail["from"] = from.name }
            events?.append(ItemEvent(.updated, item, detail))
            if patch.layer != nil { _ = try enforceCapacity(db, layer: item.layer, events: events) }
            return item
        }
        pendingCommitted()
        return updated
    }

    /// Deletes an item (and its links).
    /// - Parameters:
    ///   - id: the item.
    ///   - events: receives its `deleted` event (`reason: "request"`).
    /// - Returns: false when there was no such item.
    func delete(id: String, events: ItemEvents? = nil) async throws -> Bool {
        try await eventWrite(events: events) { db in
            let gone = try Row.fetchAll(db, sql: "DELETE FROM items WHERE id = ? RETURNING id, layer, source", arguments: [id])
            for row in gone { events?.append(ItemEvent(.deleted, row: row, ["reason": "request"])) }
            return !gone.isEmpty
        }
    }
}
