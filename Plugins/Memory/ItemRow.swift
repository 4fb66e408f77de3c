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

    /// The links of the items with these sequence numbers.
    static func links(_ db: Database, seqs: [Int64]) throws -> [Int64: [MemoryLink]] {
        guard !seqs.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: seqs.count).joined(separator: ",")
        let rows = try Row.fetchAll(
            db, sql: "SELECT item_seq, kind, target, relation FROM item_links WHERE item_seq IN (\(marks))",
            arguments: StatementArguments(seqs))
        var result: [Int64: [MemoryLink]] = [:]
        for row in rows {
            result[row["item_seq"], default: []].append(
                MemoryLink(kind: row["kind"], target: row["target"], relation: row["relation"]))
        }
        return result
    }

    /// Replaces the links of item `seq`.
    static func setLinks(_ db: Database, seq: Int64, _ links: [MemoryLink]) throws {
        try db.execute(sql: "DELETE FROM item_links WHERE item_seq = ?", arguments: [seq])
        for link in links {
            try db.execute(
                sql: "INSERT OR REPLACE INTO item_links(item_seq, kind, target, relation) VALUES (?, ?, ?, ?)",
                arguments: [seq, link.kind, link.target, link.relation])
        }
    }
}
