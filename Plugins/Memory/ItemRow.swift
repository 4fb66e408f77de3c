import Foundation
import GRDB
import MemoryCore

extension MemoryItem {
    /// The item in a row of `items` (`SELECT items.*`).
    /// - Parameter row: the row.
    init(row: Row) {
        let tagsText: String = row["tags"]
        let tags = tagsText == "[]" ? [] : (try? JSONDecoder().decode([String].self, from: Data(tagsText.utf8))) ?? []
        let expires: Double? = row["expires_at"]
        self.init(
            id: row["id"], layer: MemoryLayer(name: row["layer"]) ?? .shortTerm, content: row["content"], tags: tags,
            source: row["source"], importance: row["importance"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            lastAccessedAt: Date(timeIntervalSince1970: row["last_accessed_at"]), accessCount: row["access_count"],
            expiresAt: expires.map { Date(timeIntervalSince1970: $0) }, pinned: row["pinned"])
    }

    /// Tags as the JSON text stored in `items.tags`.
    static func tagsText(_ tags: [String]) -> String {
        guard !tags.isEmpty else { return "[]" }
        let data = (try? JSONEncoder().encode(tags)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension MemoryStore {
    /// The visibility condition every read adds: expired items are never returned.
    static let visible = "(items.expires_at IS NULL OR items.expires_at > ?)"

    /// The items expired at `?` and not yet swept, in the form the partial index on `expires_at`
    /// answers (the sweep, the counts less what expired, a search's choice of path).
    static let expired = "expires_at IS NOT NULL AND expires_at <= ?"

    /// The condition `column IN` a list of sequence numbers bound as one JSON array
    /// (``seqList(_:)``): one statement text for any number of them, so it is prepared once per
    /// connection and cached, where a `?` per number made a new statement for every call.
    static func inSeqs(_ column: String) -> String { "\(column) IN (SELECT value FROM json_each(?))" }

    /// Sequence numbers as the JSON array ``inSeqs(_:)`` binds.
    static func seqList(_ seqs: some Sequence<Int64>) -> String {
        "[" + seqs.map(String.init).joined(separator: ",") + "]"
    }

    /// The links of the items with these sequence numbers.
    static func links(_ db: Database, seqs: [Int64]) throws -> [Int64: [MemoryLink]] {
        guard !seqs.isEmpty else { return [:] }
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT item_seq, kind, target, relation FROM item_links WHERE \(inSeqs("item_seq"))"),
            arguments: [seqList(seqs)])
        var result: [Int64: [MemoryLink]] = [:]
        for row in rows {
            result[row["item_seq"], default: []].append(
                MemoryLink(kind: row["kind"], target: row["target"], relation: row["relation"]))
        }
        return result
    }

    /// Replaces the links of item `seq`.
    static func setLinks(_ db: Database, seq: Int64, _ links: [MemoryLink]) throws {
        try db.cachedStatement(sql: "DELETE FROM item_links WHERE item_seq = ?").execute(arguments: [seq])
        for link in links {
            try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO item_links(item_seq, kind, target, relation) VALUES (?, ?, ?, ?)"
            ).execute(
                arguments: [seq, link.kind, link.target, link.relation])
        }
    }

    /// Adds `links` to item `seq` while it holds fewer than ``MemoryLink/maxPerItem``; a link to a
    /// target the item has already keeps its relation.
    static func addLinks(_ db: Database, to seq: Int64, _ links: [MemoryLink]) throws {
        guard !links.isEmpty else { return }
        var held =
            try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM item_links WHERE item_seq = ?"), arguments: [seq]) ?? 0
        for link in links where held < MemoryLink.maxPerItem {
            try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO item_links(item_seq, kind, target, relation) VALUES (?, ?, ?, ?)"
            ).execute(arguments: [seq, link.kind, link.target, link.relation])
            held += db.changesCount
        }
    }
}
