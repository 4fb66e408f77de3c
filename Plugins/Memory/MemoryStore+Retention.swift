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
    /// `expires_at`).
    /// - Parameter events: receives an `expired` event per deleted item.
    /// - Returns: how many were deleted, by layer.
    func sweep(events: ItemEvents? = nil) async throws -> [MemoryLayer: Int] {
        let now = clock()
        return try await eventWrite(events: events) { db in try Self.sweep(db, now: now, events: events) }
    }

    static func sweep(_ db: Database, now: Date, events: ItemEvents?) throws -> [MemoryLayer: Int] {
        let rows = try Row.fetchAll(
            db, sql: "DELETE FROM items WHERE \(Self.expired) RETURNING id, layer, source",
            arguments: [now.timeIntervalSince1970])
        var result: [MemoryLayer: Int] = [:]
        for row in rows {
            if let layer = MemoryLayer(name: row["layer"]) { result[layer, default: 0] += 1 }
            events?.append(ItemEvent(.expired, row: row))
        }
        return result
    }

    /// Consolidation: sweeps expired items, merges near-duplicates within each layer but
    /// `working` (the newer item goes into the older: access counts add up, importance is the
    /// larger, tags the union, links move), then promotes items by ``Promotion`` and enforces
    /// the capacity of the layers that received items. One transaction.
    /// - Parameter events: receives the item events: `expired`, `consolidated` (merged or
    ///   promoted), `deleted` (merged into another item, or evicted).
    func consolidate(events: ItemEvents? = nil) async throws -> ConsolidationReport {
        let now = clock()
        return try await mergingWrite(events: events) { [self] db, promotions in
            // Near-duplicates are found through FTS5: everything pending is merged first.
            let merged = try mergeStep(db, limit: Int.max, promotions: promotions)
            var report = ConsolidationReport()
            report.expired = try Self.sweep(db, now: now, events: events)
            for layer in MemoryLayer.all where layer != .working {
                let merged = try mergeDuplicates(db, layer: layer, now: now, events: events)
                if merged > 0 { report.merged[layer] = merged }
            }
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
                report.promoted["\(item.layer.name)->\(target.name)", default: 0] += 1
                var moved = item
                moved.layer = target
                events?.append(ItemEvent(.consolidated, moved, ["action": "promoted", "from": item.layer.name]))
                received.insert(target)
            }
            for layer in received {
                let evicted = try enforceCapacity(db, layer: layer, events: events)
                if evicted > 0 { report.evicted[layer] = evicted }
            }
            return (report, merged)
        }
    }

    /// Merges near-duplicates among the newest ``MemorySettings/consolidationScan`` items of
    /// `layer`, oldest kept.
    private func mergeDuplicates(_ db: Database, layer: MemoryLayer, now: Date, events: ItemEvents?) throws -> Int {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT * FROM (SELECT * FROM items WHERE layer = ? AND \(Self.visible) ORDER BY created_at DESC LIMIT ?)
                ORDER BY created_at, seq
                """, arguments: [layer.name, now.timeIntervalSince1970, settings.consolidationScan])
        var gone: Set<Int64> = []
        var merged = 0
        for row in rows {
            let seq: Int64 = row["seq"]
            guard !gone.contains(seq) else { continue }
            var keep = MemoryItem(row: row)
            let before = merged
            while let (duplicate, _) = try nearDuplicate(db, of: keep.content, in: layer, now: now, excluding: seq) {
                guard !duplicate.item.pinned || keep.pinned else { break }
                keep.accessCount += duplicate.item.accessCount
                keep.importance = max(keep.importance, duplicate.item.importance)
                keep.lastAccessedAt = max(keep.lastAccessedAt, duplicate.item.lastAccessedAt)
                keep.tags += duplicate.item.tags.filter { !keep.tags.contains($0) }
                try db.execute(
                    sql: "UPDATE OR IGNORE item_links SET item_seq = ? WHERE item_seq = ?", arguments: [seq, duplicate.seq])
                try db.execute(sql: "DELETE FROM items WHERE seq = ?", arguments: [duplicate.seq])
                gone.insert(duplicate.seq)
                merged += 1
                events?.append(ItemEvent(.deleted, duplicate.item, ["reason": "merged", "into": keep.id]))
                events?.append(ItemEvent(.consolidated, keep, ["action": "merged", "merged_id": duplicate.item.id]))
            }
            if merged > before {
                try db.execute(
                    sql: "UPDATE items SET access_count = ?, importance = ?, last_accessed_at = ?, tags = ? WHERE seq = ?",
                    arguments: [
                        keep.accessCount, keep.importance, keep.lastAccessedAt.timeIntervalSince1970,
                        MemoryItem.tagsText(keep.tags), seq,
                    ])
            }
        }
        return merged
    }
}
