import ConscienceCore
import Foundation
import GRDB
import JameyGRDB

/// The rules, stored in `<data_dir>/conscience/conscience.sqlite` (GRDB, WAL), with migrations in
/// code; the first migration run also seeds ``DefaultRules``, so deleting a default rule lasts.
/// Thread-safe: GRDB serialises writes, and each write is one transaction.
final class RuleStore: Sendable {
    private let database: DatabasePool

    /// The database file's name inside the plugin's data directory.
    static let fileName = "conscience.sqlite"

    /// Opens (creating and migrating when needed) the database in `directory`.
    /// - Throws: when the database cannot be opened or migrated.
    init(directory: String) throws {
        var configuration = Configuration()
        configuration.label = "conscience.rules"
        configuration.busyMode = .timeout(DatabaseFailure.busyTimeout)
        database = try DatabasePool(path: directory + "/" + Self.fileName, configuration: configuration)
        // A rule's change is an operator's, rare: its commit syncs before the reply, so what was
        // answered holds through a power cut (GRDB's WAL default, NORMAL, only through a crash).
        try database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        try Self.migrator.migrate(database)
    }

    /// The schema's migrations, in order.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-rules") { db in
            try db.create(table: RuleRecord.databaseTableName) { t in
                t.primaryKey("name", .text)
                t.column("description", .text).notNull()
                t.column("keywords", .text).notNull()  // a JSON array of strings
                t.column("weight", .double).notNull()
                t.column("polarity", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull()
            }
        }
        migrator.registerMigration("v1-seed-defaults") { db in
            let now = Date()
            for rule in DefaultRules.all { try RuleRecord(rule, createdAt: now, updatedAt: now).insert(db) }
        }
        return migrator
    }

    /// Every valid rule, by name, and the names of rows that no longer validate (a restored file
    /// edited by hand), which the caller reports.
    func all() throws -> (rules: [MoralRule], invalid: [String]) {
        let rows = try database.read { db in try RuleRecord.order(Column("name")).fetchAll(db) }
        var rules: [MoralRule] = []
        var invalid: [String] = []
        for row in rows {
            if let rule = row.rule { rules.append(rule) } else { invalid.append(row.name) }
        }
        return (rules, invalid)
    }

    /// The rule named `name`, if any.
    func rule(named name: String) throws -> MoralRule? {
        try database.read { db in try RuleRecord.fetchOne(db, key: name) }?.rule
    }

    /// Inserts a new rule.
    /// - Returns: false when a rule with that name exists (nothing is changed).
    func insert(_ rule: MoralRule) throws -> Bool {
        try database.write { db in
            guard try RuleRecord.fetchOne(db, key: rule.name) == nil else { return false }
            let now = Date()
            try RuleRecord(rule, createdAt: now, updatedAt: now).insert(db)
            return true
        }
    }

    /// Replaces the rule of the same name.
    /// - Returns: false when no rule has that name.
    func replace(_ rule: MoralRule) throws -> Bool {
        try database.write { db in
            guard let old = try RuleRecord.fetchOne(db, key: rule.name) else { return false }
            try RuleRecord(rule, createdAt: old.createdAt, updatedAt: Date()).update(db)
            return true
        }
    }

    /// Deletes the rule named `name`.
    /// - Returns: false when no rule has that name.
    func delete(named name: String) throws -> Bool {
        try database.write { db in try RuleRecord.deleteOne(db, key: name) }
    }

    /// Writes a consistent copy of the database into `directory` (the kit's online backup), for
    /// the vault's snapshots; writers may go on meanwhile.
    /// - Throws: when the copy fails.
    func snapshot(into directory: String) throws {
        try database.writeSnapshot(into: directory, fileName: Self.fileName)
    }

    /// Replaces every rule with those of the snapshot in `directory`, then runs any newer
    /// migrations on the result.
    /// - Throws: when the snapshot is missing, damaged or not a conscience database.
    func restore(from directory: String) throws {
        try database.restoreSnapshot(
            from: directory, fileName: Self.fileName, requiringTable: RuleRecord.databaseTableName, migrator: Self.migrator)
        try Self.migrator.migrate(database)
    }
}
