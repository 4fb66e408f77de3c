import CacheCore
import Foundation
import GRDB
import JameyGRDB

/// The persistent tier: one SQLite database (GRDB, WAL) at `<data_dir>/cache/cache.sqlite` holding
/// every namespace's entries with their expiry and hit count. Each namespace is bounded in bytes;
/// a put past the bound evicts the least-hit, least-recently-written entries. Thread-safe.
final class L3Store: Sendable {
    private let database: DatabasePool

    /// The database file's name inside the plugin's data directory.
    static let fileName = "cache.sqlite"

    /// One stored entry.
    struct Row: Sendable {
        let key: String
        let value: [UInt8]
        let expiresAt: Int64?
    }

    /// Opens (creating and migrating when needed) the database in `directory`.
    init(directory: String) throws {
        var configuration = Configuration()
        configuration.label = "cache.l3"
        configuration.busyMode = .timeout(DatabaseFailure.busyTimeout)
        database = try DatabasePool(path: directory + "/" + Self.fileName, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-entries") { db in
            try db.execute(
                sql: """
                    CREATE TABLE entries (
                      namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                      expires_at INTEGER, hits INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL,
                      updated_at INTEGER NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID;
                    CREATE INDEX entries_by_heat ON entries (namespace, hits, updated_at);
                    """)
        }
        migrator.registerMigration("v2-sizes-and-expiry-index") { db in
            // Per-namespace totals kept by triggers, so a bounded put reads one row instead of
            // summing the namespace; and an index for the expiry sweep.
            try db.execute(
                sql: """
                    CREATE TABLE namespace_sizes (
                      namespace TEXT PRIMARY KEY, bytes INTEGER NOT NULL, entries INTEGER NOT NULL) WITHOUT ROWID;
                    INSERT INTO namespace_sizes SELECT namespace, SUM(bytes), COUNT(*) FROM entries GROUP BY namespace;
                    CREATE TRIGGER entries_insert AFTER INSERT ON entries BEGIN
                      INSERT INTO namespace_sizes VALUES (new.namespace, new.bytes, 1)
                      ON CONFLICT (namespace) DO UPDATE SET bytes = bytes + new.bytes, entries = entries + 1;
                    END;
                    CREATE TRIGGER entries_delete AFTER DELETE ON entries BEGIN
                      UPDATE namespace_sizes SET bytes = bytes - old.bytes, entries = entries - 1
                      WHERE namespace = old.namespace;
                    END;
                    CREATE TRIGGER entries_resize AFTER UPDATE OF bytes ON entries BEGIN
                      UPDATE namespace_sizes SET bytes = bytes - old.bytes + new.bytes WHERE namespace = new.namespace;
                    END;
                    CREATE INDEX entries_by_expiry ON entries (expires_at) WHERE expires_at IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v3-sketches") { db in
            // Each namespace's access frequency sketch (stable hashes), for warming after a restart.
            try db.execute(
                sql: """
                    CREATE TABLE sketches (
                      namespace TEXT PRIMARY KEY, data BLOB NOT NULL, saved_at INTEGER NOT NULL) WITHOUT ROWID;
                    """)
        }
        return migrator
    }

    /// Saves a namespace's serialized frequency sketch (replacing the last one).
    func saveSketch(_ namespace: String, _ data: [UInt8], now: Int64) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO sketches (namespace, data, saved_at) VALUES (?, ?, ?)",
                arguments: [namespace, Data(data), now])
        }
    }

    /// The namespace's last saved sketch and when it was saved, or nil.
    func sketch(_ namespace: String) throws -> (data: [UInt8], savedAt: Int64)? {
        try database.read { db in
            guard
                let row = try GRDB.Row.fetchOne(
                    db, sql: "SELECT data, saved_at FROM sketches WHERE namespace = ?", arguments: [namespace])
            else { return nil }
            return ([UInt8](row["data"] as Data), row["saved_at"])
        }
    }

    /// The keys of up to `limit` live entries of a namespace, most-hit first.
    func hottestKeys(_ namespace: String, limit: Int, now: Int64) throws -> [String] {
        try database.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT key FROM entries WHERE namespace = ? AND (expires_at IS NULL OR expires_at > ?)
                    ORDER BY hits DESC, updated_at DESC LIMIT ?
                    """,
                arguments: [namespace, now, limit])
        }
    }

    /// The live entry, or nil; an expired one is deleted.
    func get(_ namespace: String, _ key: String, now: Int64) throws -> Row? {
        let row = try database.read { db in
            try GRDB.Row.fetchOne(
                db.cachedStatement(sql: "SELECT value, expires_at FROM entries WHERE namespace = ? AND key = ?"),
                arguments: [namespace, key])
        }
        guard let row else { return nil }
        let expiresAt: Int64? = row["expires_at"]
        if let expiresAt, expiresAt <= now {
            // Only while it is still the expired row: a put committed since the read keeps its
            // fresh value.
            try database.write { db in
                try db.cachedStatement(
                    sql: "DELETE FROM entries WHERE namespace = ? AND key = ? AND expires_at IS NOT NULL AND expires_at <= ?"
                ).execute(arguments: [namespace, key, now])
            }
            return nil
        }
        let data: Data = row["value"]
        return Row(key: key, value: [UInt8](data), expiresAt: expiresAt)
    }

    /// Stores an entry, then evicts the coldest entries of the namespace until it fits `maxBytes`.
    /// - Returns: how many entries were evicted.
    @discardableResult
    func put(_ namespace: String, _ key: String, _ value: [UInt8], expiresAt: Int64?, maxBytes: Int, now: Int64) throws -> Int {
        try database.write { db in
            // Cached statements: preparing a write to `entries` compiles its triggers each time.
            try db.cachedStatement(
                sql: """
                    INSERT INTO entries (namespace, key, value, expires_at, hits, bytes, updated_at)
                    VALUES (?, ?, ?, ?, 0, ?, ?)
                    ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,
                      expires_at = excluded.expires_at, bytes = excluded.bytes, updated_at = excluded.updated_at
                    """
            ).execute(arguments: [namespace, key, Data(value), expiresAt, key.utf8.count + value.count, now])
            var evicted = 0
            var used = try Self.bytes(db, namespace)
            while used > maxBytes {
                let victims = try GRDB.Row.fetchAll(
                    db.cachedStatement(
                        sql: "SELECT key, bytes FROM entries WHERE namespace = ? AND key != ? ORDER BY hits, updated_at LIMIT 64"),
                    arguments: [namespace, key])
                if victims.isEmpty { break }
                for v in victims where used > maxBytes {
                    let k: String = v["key"]
                    let b: Int = v["bytes"]
                    try Self.deleteEntry(db, namespace, k)
                    used -= b
                    evicted += 1
                }
            }
            return evicted
        }
    }

    private static func bytes(_ db: Database, _ namespace: String) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT bytes FROM namespace_sizes WHERE namespace = ?"), arguments: [namespace]) ?? 0
    }

    /// Deletes the entry `key` of `namespace` inside the caller's transaction.
    private static func deleteEntry(_ db: Database, _ namespace: String, _ key: String) throws {
        try db.cachedStatement(sql: "DELETE FROM entries WHERE namespace = ? AND key = ?").execute(arguments: [
            namespace, key,
        ])
    }

    /// Deletes one entry; returns whether it existed.
    func delete(_ namespace: String, _ key: String) throws -> Bool {
        try database.write { db in
            try Self.deleteEntry(db, namespace, key)
            return db.changesCount > 0
        }
    }

    /// Deletes every entry whose key starts with `prefix`; returns how many.
    func delete(_ namespace: String, prefix: String) throws -> Int {
        try database.write { db in
            try db.execute(
                sql: "DELETE FROM entries WHERE namespace = ? AND substr(key, 1, ?) = ?",
                arguments: [namespace, prefix.unicodeScalars.count, prefix])
            return db.changesCount
        }
    }

    /// Deletes expired entries of every namespace; returns how many per namespace.
    func purgeExpired(now: Int64) throws -> [String: Int] {
        try database.write { db in
            let due = "expires_at IS NOT NULL AND expires_at <= ?"
            let rows = try GRDB.Row.fetchAll(
                db, sql: "SELECT namespace, COUNT(*) AS n FROM entries WHERE \(due) GROUP BY namespace", arguments: [now])
            guard !rows.isEmpty else { return [:] }
            try db.execute(sql: "DELETE FROM entries WHERE \(due)", arguments: [now])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["namespace"] as String, $0["n"] as Int) })
        }
    }

    /// Adds read counts (hits in any tier) to the entries' heat.
    func addHits(_ namespace: String, _ hits: [CacheKey: Int]) throws {
        guard !hits.isEmpty else { return }
        try database.write { db in
            for (key, n) in hits {
                try db.cachedStatement(sql: "UPDATE entries SET hits = hits + ? WHERE namespace = ? AND key = ?").execute(
                    arguments: [n, namespace, key.text])
            }
        }
    }

    /// Entry count and bytes of a namespace.
    func size(_ namespace: String) throws -> (entries: Int, bytes: Int) {
        try database.read { db in
            let row = try GRDB.Row.fetchOne(
                db, sql: "SELECT entries, bytes FROM namespace_sizes WHERE namespace = ?", arguments: [namespace])
            return (row?["entries"] ?? 0, row?["bytes"] ?? 0)
        }
    }

    /// Writes a consistent copy into `directory` (the kit's online backup); writers may go on meanwhile.
    func snapshot(into directory: String) throws {
        try database.writeSnapshot(into: directory, fileName: Self.fileName)
    }

    /// Replaces every entry with those of the snapshot in `directory`, then runs newer migrations.
    /// - Throws: when the snapshot is missing, damaged or not a cache database.
    func restore(from directory: String) throws {
        try database.restoreSnapshot(from: directory, fileName: Self.fileName, requiringTable: "entries", migrator: Self.migrator)
        try Self.migrator.migrate(database)
    }
}
