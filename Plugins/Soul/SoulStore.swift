import Foundation
import GRDB
import JameyGRDB
import PluginReplies
import SoulCore

/// The entities, in `<data_dir>/soul/soul.sqlite` (GRDB, WAL), migrations in code. Each change
/// loads, mutates and saves one entity inside one write transaction, so concurrent changes to the
/// same entity never lose an update. Unlike Jamey 3.0's schema: valid SQLite, CHECKs that match
/// what is written, emotion counts set in one place, and a primary key on (entity, memory) so a
/// link exists once.
final class SoulStore: Sendable {
    private let database: DatabasePool

    /// The database file's name inside the plugin's data directory.
    static let fileName = "soul.sqlite"

    /// Opens (creating and migrating when needed) the database in `directory`.
    init(directory: String) throws {
        var configuration = Configuration()
        configuration.label = "soul"
        configuration.busyMode = .timeout(DatabaseFailure.busyTimeout)
        configuration.foreignKeysEnabled = true
        database = try DatabasePool(path: directory + "/" + Self.fileName, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    /// The schema's migrations, in order.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-soul") { db in
            try db.execute(
                sql: """
                    CREATE TABLE soul_entities (
                      name TEXT PRIMARY KEY NOT NULL,
                      trust REAL NOT NULL CHECK (trust BETWEEN 0 AND 1),
                      decay_rate REAL NOT NULL CHECK (decay_rate BETWEEN 0 AND 1),
                      created_at REAL NOT NULL, last_interaction REAL NOT NULL, last_decayed_at REAL NOT NULL);
                    CREATE INDEX soul_entities_trust ON soul_entities(trust DESC, name);
                    CREATE TABLE soul_emotions (
                      entity TEXT NOT NULL REFERENCES soul_entities(name) ON DELETE CASCADE,
                      emotion TEXT NOT NULL, count INTEGER NOT NULL CHECK (count >= 1),
                      PRIMARY KEY (entity, emotion)) WITHOUT ROWID;
                    CREATE TABLE soul_memory_links (
                      entity TEXT NOT NULL REFERENCES soul_entities(name) ON DELETE CASCADE,
                      memory_id TEXT NOT NULL, position INTEGER NOT NULL,
                      PRIMARY KEY (entity, memory_id)) WITHOUT ROWID;
                    """)
        }
        // The entity count and trust sum, kept by triggers in the same transactions as the
        // entities: the gauges and the health check read one row instead of every entity.
        migrator.registerMigration("v2-soul-totals") { db in
            try db.execute(
                sql: """
                    CREATE TABLE soul_totals (
                      id INTEGER PRIMARY KEY CHECK (id = 1), entities INTEGER NOT NULL, trust_sum REAL NOT NULL);
                    INSERT INTO soul_totals SELECT 1, count(*), coalesce(sum(trust), 0) FROM soul_entities;
                    CREATE TRIGGER soul_totals_insert AFTER INSERT ON soul_entities BEGIN
                      UPDATE soul_totals SET entities = entities + 1, trust_sum = trust_sum + new.trust WHERE id = 1;
                    END;
                    CREATE TRIGGER soul_totals_delete AFTER DELETE ON soul_entities BEGIN
                      UPDATE soul_totals SET entities = entities - 1, trust_sum = trust_sum - old.trust WHERE id = 1;
                    END;
                    CREATE TRIGGER soul_totals_trust AFTER UPDATE OF trust ON soul_entities BEGIN
                      UPDATE soul_totals SET trust_sum = trust_sum - old.trust + new.trust WHERE id = 1;
                    END;
                    """)
        }
        // Names in Unicode's composed form (NFC, ``ComposedText``), which every lookup now uses:
        // Swift compares strings by canonical equivalence and SQLite by bytes, so "é" sent
        // precomposed and decomposed were one name to the plugin and two entities to the
        // database, and a decay over both stopped the process (a dictionary with a duplicate
        // key). A name whose composed form another entity holds already is left as it is (the
        // two stay apart; the list shows both).
        migrator.registerMigration("v3-soul-canonical-names") { db in
            for name in try String.fetchAll(db, sql: "SELECT name FROM soul_entities") {
                let canonical = ComposedText.of(name)
                guard !canonical.utf8.elementsEqual(name.utf8),
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM soul_entities WHERE name = ?", arguments: [canonical]) == 0
                else { continue }
                for table in ["soul_emotions", "soul_memory_links"] {
                    try db.execute(sql: "UPDATE \(table) SET entity = ? WHERE entity = ?", arguments: [canonical, name])
                }
                try db.execute(sql: "UPDATE soul_entities SET name = ? WHERE name = ?", arguments: [canonical, name])
            }
        }
        return migrator
    }

    /// The entity named `name`, if any.
    func entity(named name: String) throws -> SoulEntity? {
        let name = ComposedText.of(name)
        return try database.read { db in try Self.load(db, name) }
    }

    /// Every entity, highest trust first (ties by name), in three queries (Jamey 3.0 ran one per
    /// entity).
    func all() throws -> [SoulEntity] {
        try database.read { db in
            // Keyed by the names' bytes, as SQLite tells them apart: two names a Swift dictionary
            // takes for one (canonically equivalent) are two entities here.
            var emotions: [[UInt8]: [Emotion: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT entity, emotion, count FROM soul_emotions") {
                let entity: String = row["entity"]
                emotions[Array(entity.utf8), default: [:]][Emotion(stored: row["emotion"]), default: 0] += row["count"] as Int
            }
            var links: [[UInt8]: [String]] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT entity, memory_id FROM soul_memory_links ORDER BY entity, position")
            {
                let entity: String = row["entity"]
                links[Array(entity.utf8), default: []].append(row["memory_id"])
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM soul_entities ORDER BY trust DESC, name").map { row in
                let name = Array((row["name"] as String).utf8)
                return try Self.entity(row, emotions: emotions[name] ?? [:], links: links[name] ?? [])
            }
        }
    }

    /// Entity count and mean trust (from `soul_totals`, one row).
    func summary() throws -> (count: Int, meanTrust: Double) {
        try database.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT entities, trust_sum FROM soul_totals WHERE id = 1")
            let count: Int = row?[0] ?? 0
            let sum: Double = row?[1] ?? 0
            return (count, count > 0 ? sum / Double(count) : 0)
        }
    }

    /// Loads `name` (creating it with defaults when `create` and absent), runs `change` on it and
    /// saves the result, in one transaction.
    /// - Returns: the saved entity, `change`'s result and whether the entity was created.
    /// - Throws: ``SoulError`` `.notFound` when absent and not `create`; `change`'s error.
    func modify<T>(
        _ name: String, create: Bool, at now: Date, _ change: (inout SoulEntity) throws -> T
    ) throws -> (entity: SoulEntity, result: T, created: Bool) {
        try SoulEntity.check(name: name)
        let name = ComposedText.of(name)
        return try database.write { db in
            var created = false
            var entity: SoulEntity
            if let found = try Self.load(db, name) {
                entity = found
            } else if create {
                entity = try SoulEntity(name: name, at: now)
                created = true
            } else {
                throw SoulError(.notFound, "no entity named '\(name.prefix(128))'")
            }
            let linked = created ? 0 : entity.linkedMemories.count
            let result = try change(&entity)
            try Self.save(db, entity, linkedBefore: linked)
            return (entity, result, created)
        }
    }

    /// Deletes `name` with its emotions and links.
    /// - Returns: false when no entity has that name.
    func delete(named name: String) throws -> Bool {
        let name = ComposedText.of(name)
        return try database.write { db in
            try db.cachedStatement(sql: "DELETE FROM soul_entities WHERE name = ?").execute(arguments: [name])
            return db.changesCount > 0
        }
    }

    /// Decays every entity as of `now`, in one transaction: only trust and the time of the last
    /// decay change, so emotions and links are neither read nor written.
    /// - Returns: each entity's trust change, by name.
    func decayAll(at now: Date) throws -> [(name: String, change: Double)] {
        try database.write { db in
            var changes: [(String, Double)] = []
            for row in try Row.fetchAll(db, sql: "SELECT * FROM soul_entities ORDER BY name") {
                var entity = try Self.entity(row, emotions: [:], links: [])
                changes.append((entity.name, entity.decay(at: now)))
                try db.cachedStatement(sql: "UPDATE soul_entities SET trust = ?, last_decayed_at = ? WHERE name = ?").execute(
                    arguments: [entity.trust, entity.lastDecayedAt.timeIntervalSince1970, entity.name])
            }
            return changes
        }
    }

    static func load(_ db: Database, _ name: String) throws -> SoulEntity? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM soul_entities WHERE name = ?"), arguments: [name])
        else {
            return nil
        }
        var emotions: [Emotion: Int] = [:]
        for e in try Row.fetchAll(
            db.cachedStatement(sql: "SELECT emotion, count FROM soul_emotions WHERE entity = ?"), arguments: [name])
        {
            emotions[Emotion(stored: e["emotion"]), default: 0] += e["count"] as Int
        }
        let links = try String.fetchAll(
            db.cachedStatement(sql: "SELECT memory_id FROM soul_memory_links WHERE entity = ? ORDER BY position"),
            arguments: [name])
        return try entity(row, emotions: emotions, links: links)
    }

    /// An entity from its `soul_entities` row and its emotions and links.
    static func entity(_ row: Row, emotions: [Emotion: Int], links: [String]) throws -> SoulEntity {
        try SoulEntity(
            name: row["name"], trust: row["trust"], decayRate: row["decay_rate"], emotions: emotions, linkedMemories: links,
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            lastInteraction: Date(timeIntervalSince1970: row["last_interaction"]),
            lastDecayedAt: Date(timeIntervalSince1970: row["last_decayed_at"]), stored: true)
    }

    /// Saves `e`; its links from position `linkedBefore` on are new (links are only ever
    /// appended, so the ones before are stored already and are not written again). Its statements,
    /// and ``load(_:_:)``'s, come from the connection's statement cache: preparing the upsert
    /// anew compiled the triggers of `soul_entities` on every call.
    static func save(_ db: Database, _ e: SoulEntity, linkedBefore: Int = 0) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO soul_entities (name, trust, decay_rate, created_at, last_interaction, last_decayed_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET trust = excluded.trust, decay_rate = excluded.decay_rate,
                  last_interaction = excluded.last_interaction, last_decayed_at = excluded.last_decayed_at
                """
        ).execute(
            arguments: [
                e.name, e.trust, e.decayRate, e.createdAt.timeIntervalSince1970, e.lastInteraction.timeIntervalSince1970,
                e.lastDecayedAt.timeIntervalSince1970,
            ])
        try db.cachedStatement(sql: "DELETE FROM soul_emotions WHERE entity = ?").execute(arguments: [e.name])
        for (emotion, count) in e.emotions {
            try db.cachedStatement(sql: "INSERT INTO soul_emotions (entity, emotion, count) VALUES (?, ?, ?)").execute(
                arguments: [e.name, emotion.description, count])
        }
        for (position, id) in e.linkedMemories.enumerated().dropFirst(linkedBefore) {
            let link = "INSERT OR IGNORE INTO soul_memory_links (entity, memory_id, position) VALUES (?, ?, ?)"
            try db.cachedStatement(sql: link).execute(arguments: [e.name, id, position])
        }
    }

    /// Writes a consistent copy of the database into `directory` (the kit's online backup).
    func snapshot(into directory: String) throws {
        try database.writeSnapshot(into: directory, fileName: Self.fileName)
    }

    /// Replaces every entity with those of the snapshot in `directory`, then runs any newer
    /// migrations on it.
    /// - Throws: when the snapshot is missing, damaged or not a soul database.
    func restore(from directory: String) throws {
        try database.restoreSnapshot(
            from: directory, fileName: Self.fileName, requiringTable: "soul_entities", migrator: Self.migrator
        ) { db in
            // The ranges the tables' CHECK constraints keep (a forged table may lack them; the
            // kit compares columns, not constraints): trust and decay rates out of 0...1 made every
            // list and decay fail, and counts near the largest integer overflowed the empathy sum.
            let bad = try Int.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM (SELECT 1 FROM soul_entities
                              WHERE trust NOT BETWEEN 0 AND 1 OR decay_rate NOT BETWEEN 0 AND 1 LIMIT 1))
                         + (SELECT count(*) FROM (SELECT 1 FROM soul_emotions WHERE count NOT BETWEEN 1 AND ? LIMIT 1))
                    """, arguments: [Int64(1) << 40])
            guard bad == 0 else {
                throw SoulError(.invalid, "the snapshot holds trust, decay rates or emotion counts out of range: refused")
            }
        }
        try Self.migrator.migrate(database)
    }
}
