import Foundation
import GRDB
import MemoryCore

/// What one consolidation run did.
struct ConsolidationReport: Sendable {
    /// Expired items deleted, by layer.
    var expired: [MemoryLayer: Int] = [:]
    /// Near-duplicates merged into an older item, by layer.
    var merged: [MemoryLayer: Int] = [:]
    /// Items moved between layers, by (from, to).
    var promoted: [String: Int] = [:]
    /// Items evicted for capacity after promotion, by layer.
    var evicted: [MemoryLayer: Int] = [:]
}

extension MemoryStore {
    /// Deletes expired items. Cost is proportional to what expired (a partial index on
    /// `expires_at`), in transactions of ``MemorySettings/sweepPiece`` items, so a sweep of many (a
    /// node back after days off) lets stores in between: 20 000 expired items among 100 000 took
    /// 1.9 s in one transaction, and a store waited that long.
    /// - Parameter events: receives an `expired` event per deleted item.
    /// - Returns: how many were deleted, by layer.
    func sweep(events: ItemEvents? = nil) async throws -> [MemoryLayer: Int] {
        let now = clock()
        var result: [MemoryLayer: Int] = [:]
        while true {
            let (piece, more) = try await eventWrite(events: events) { [self] db in
                try Self.sweep(db, now: now, limit: settings.sweepPiece, events: events)
            }
            result.merge(piece, uniquingKeysWith: +)
            if !more { return result }
        }
    }

    /// Deletes at most `limit` expired items. - Returns: how many, by layer, and whether more
    /// may be left.
    static func sweep(_ db: Database, now: Date, limit: Int, events: ItemEvents?) throws -> ([MemoryLayer: Int], Bool) {
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    DELETE FROM items WHERE seq IN (SELECT seq FROM items WHERE \(Self.expired) LIMIT ?)
                    RETURNING id, layer, source
                    """),
            arguments: [now.timeIntervalSince1970, limit])
        var result: [MemoryLayer: Int] = [:]
        for row in rows {
            if let layer = MemoryLayer(name: row["layer"]) { result[layer, default: 0] += 1 }
            events?.append(ItemEvent(.expired, row: row))
        }
        return (result, rows.count == limit)
    }

    /// Consolidation: sweeps expired items, merges near-duplicates within each layer but
    /// `working` (the newer item goes into the older: access counts add up, importance is the
    /// larger, tags the union up to 32, links move up to 64, the later expiry), then promotes items by ``Promotion`` and enforces
    /// the capacity of the layers that received items. In pieces, each its own transaction, so
    /// a store waits for one piece at most (about ``MemorySettings/consolidationPieceMs``), not
    /// for the whole run: the pending items' merge into FTS5; the sweep (``sweep(events:)``);
    /// the near-duplicates, a few hundred items of a layer at a time; the promotions and
    /// capacity. (One transaction for all of it held the writer 0.8 s at 100 000 items, and a
    /// store that came meanwhile waited that long.) A run cut short by a crash leaves what its
    /// committed pieces did, which the next run takes up.
    /// - Parameter events: receives the item events: `expired`, `consolidated` (merged or
    ///   promoted), `deleted` (merged into another item, or evicted).
    func consolidate(events: ItemEvents? = nil) async throws -> ConsolidationReport {
        let now = clock()
        _ = try await mergingWrite(events: events) { [self] db, promotions in
            // Near-duplicates are found through FTS5: everything pending is merged first.
            ((), try mergeStep(db, limit: Int.max, promotions: promotions))
        }
        var report = ConsolidationReport()
        report.expired = try await sweep(events: events)
        for layer in MemoryLayer.all where layer != .working {
            let window = try await eventWrite(events: nil) { [self] db in try scanWindow(db, layer: layer, now: now) }
            guard let (start, end) = window else { continue }
            var cursor = start
            var merged = 0
            var done = false
            while !done {
                let from = cursor
                let piece = try await eventWrite(events: events) { [self] db in
                    try mergeDuplicates(db, layer: layer, now: now, after: from, through: end, events: events)
                }
                merged += piece.merged
                if let next = piece.last { cursor = next } else { done = true }
            }
            if merged > 0 { report.merged[layer] = merged }
        }
        let (promoted, evicted) = try await eventWrite(events: events) { [self] db in try promote(db, now: now, events: events) }
        report.promoted = promoted
        report.evicted = evicted
        return report
    }

    /// A position in a layer's scan: an item's `created_at` and `seq` (the order of
    /// `items_by_layer_time`, whose rows end in the rowid).
    typealias ScanPosition = (createdAt: Double, seq: Int64)

    /// The newest ``MemorySettings/consolidationScan`` visible items of `layer`: the position
    /// just before the oldest of them and the position of the newest, or nil when the layer has
    /// none. Items stored later are left to the next run.
    private func scanWindow(_ db: Database, layer: MemoryLayer, now: Date) throws -> (first: ScanPosition, last: ScanPosition)? {
        let newest = try Row.fetchOne(
            db,
            sql:
                "SELECT created_at, seq FROM items WHERE layer = ? AND \(Self.visible) ORDER BY created_at DESC, seq DESC LIMIT 1",
            arguments: [layer.name, now.timeIntervalSince1970])
        guard let newest else { return nil }
        let boundary = try Row.fetchOne(
            db,
            sql: """
                SELECT created_at, seq FROM items WHERE layer = ? AND \(Self.visible)
                ORDER BY created_at DESC, seq DESC LIMIT 1 OFFSET ?
                """, arguments: [layer.name, now.timeIntervalSince1970, settings.consolidationScan])
        let first: ScanPosition = boundary.map { ($0["created_at"], $0["seq"]) } ?? (-Double.greatestFiniteMagnitude, Int64.min)
        return (first, (newest["created_at"], newest["seq"]))
    }

    /// Merges near-duplicates among the visible items of `layer` after `after` and up to `through`
    /// (oldest first, each kept item absorbing the newer ones), for at most
    /// ``MemorySettings/consolidationPiece`` items or ``MemorySettings/consolidationPieceMs``.
    /// - Returns: how many items were merged away, and the position of the last item looked at
    ///   (nil when none was left: the layer's scan is done).
    private func mergeDuplicates(
        _ db: Database, layer: MemoryLayer, now: Date, after: ScanPosition, through: ScanPosition, events: ItemEvents?
    ) throws -> (merged: Int, last: ScanPosition?) {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT * FROM items WHERE layer = ? AND \(Self.visible)
                AND (created_at, seq) > (?, ?) AND (created_at, seq) <= (?, ?)
                ORDER BY created_at, seq LIMIT ?
                """,
            arguments: [
                layer.name, now.timeIntervalSince1970, after.createdAt, after.seq, through.createdAt, through.seq,
                settings.consolidationPiece,
            ])
        let started = ContinuousClock.now
        let budget = Duration.milliseconds(settings.consolidationPieceMs)
        var gone: Set<Int64> = []
        var merged = 0
        var last: ScanPosition?
        for row in rows {
            if last != nil, ContinuousClock.now - started > budget { break }
            let seq: Int64 = row["seq"]
            last = (row["created_at"], seq)
            guard !gone.contains(seq) else { continue }
            // The older of two near-duplicates is kept and absorbs the newer. Inside the scan the
            // older comes first; an older one found outside it (past `consolidation_scan`) takes
            // the scanned item in, and the search goes on from it.
            var keep = MemoryItem(row: row)
            var keepSeq = seq
            let before = merged
            while let (duplicate, _) = try nearDuplicate(db, of: keep.content, in: layer, now: now, excluding: keepSeq) {
                var (survivor, survivorSeq, absorbed, absorbedSeq) = (keep, keepSeq, duplicate.item, duplicate.seq)
                if duplicate.item.createdAt < keep.createdAt {
                    (survivor, survivorSeq, absorbed, absorbedSeq) = (duplicate.item, duplicate.seq, keep, keepSeq)
                }
                guard !absorbed.pinned || survivor.pinned else { break }
                survivor.accessCount += absorbed.accessCount
                survivor.importance = max(survivor.importance, absorbed.importance)
                survivor.lastAccessedAt = max(survivor.lastAccessedAt, absorbed.lastAccessedAt)
                survivor.absorbTags(absorbed.tags)
                survivor.expiresAt = MemoryItem.laterExpiry(survivor.expiresAt, absorbed.expiresAt)
                try Self.addLinks(db, to: survivorSeq, try Self.links(db, seqs: [absorbedSeq])[absorbedSeq] ?? [])
                try db.execute(sql: "DELETE FROM items WHERE seq = ?", arguments: [absorbedSeq])
                gone.insert(absorbedSeq)
                merged += 1
                events?.append(ItemEvent(.deleted, absorbed, ["reason": "merged", "into": survivor.id]))
                events?.append(ItemEvent(.consolidated, survivor, ["action": "merged", "merged_id": absorbed.id]))
                (keep, keepSeq) = (survivor, survivorSeq)
            }
            if merged > before {
                try db.execute(
                    sql: """
                        UPDATE items SET access_count = ?, importance = ?, last_accessed_at = ?, tags = ?, expires_at = ?
                        WHERE seq = ?
                        """,
                    arguments: [
                        keep.accessCount, keep.importance, keep.lastAccessedAt.timeIntervalSince1970,
                        MemoryItem.tagsText(keep.tags), keep.expiresAt?.timeIntervalSince1970, keepSeq,
                    ])
            }
        }
        return (merged, last)
    }

    /// Promotes items by ``Promotion`` and enforces the capacity of the layers that received
    /// items. - Returns: the promotions by `from->to` and the evictions by layer.
    private func promote(_ db: Database, now: Date, events: ItemEvents?) throws -> ([String: Int], [MemoryLayer: Int]) {
        var promoted: [String: Int] = [:]
        var evicted: [MemoryLayer: Int] = [:]
        var received: Set<MemoryLayer> = []
        let promotion = settings.promotion
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT * FROM items WHERE layer IN ('short_term', 'episodic') AND \(Self.visible)
                AND (access_count >= ? OR importance >= ?)
                """,
            arguments: [
                now.timeIntervalSince1970, min(promotion.episodicAccesses, promotion.semanticAccesses),
                min(promotion.episodicImportance, promotion.longTermImportance),
            ])
        for row in rows {
            let item = MemoryItem(row: row)
            guard let target = promotion.target(for: item) else { continue }
            let expires = settings.retention.expiry(layer: target, at: now, pinned: item.pinned)
            try db.execute(
                sql: "UPDATE items SET layer = ?, expires_at = ? WHERE seq = ?",
                arguments: [target.name, expires?.timeIntervalSince1970, row["seq"] as Int64])
            promoted["\(item.layer.name)->\(target.name)", default: 0] += 1
            var moved = item
            moved.layer = target
            events?.append(ItemEvent(.consolidated, moved, ["action": "promoted", "from": item.layer.name]))
            received.insert(target)
        }
        for layer in received {
            let count = try enforceCapacity(db, layer: layer, events: events)
            if count > 0 { evicted[layer] = count }
        }
        return (promoted, evicted)
    }
}
