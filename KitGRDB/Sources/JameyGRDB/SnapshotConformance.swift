import GRDB

/// Whether a snapshot is a database the plugin's own migrations could have made, checked before
/// it replaces the live one (``DatabaseWriter/restoreSnapshot(from:fileName:requiringTable:migrator:check:prepare:swapped:)``).
///
/// A snapshot comes back from a backup repository and passes `PRAGMA integrity_check` whatever
/// rows it holds. Plugin code reads its own rows with GRDB's subscripts (`row["count"] as Int`),
/// which stop the process on a NULL or a value of another type; a trigger nobody wrote can
/// delete or refuse what the plugin stores. So the snapshot must be what the migrations it
/// records make, value types included:
/// - its `grdb_migrations` are the first migrations of `migrator`, in any order (a migration the
///   plugin does not know is a newer version's, or a forgery);
/// - the tables, their columns (name, declared type, NOT NULL, primary key), the indexes, triggers
///   and views are those of an empty database migrated as far (SQLite's own `sqlite_` tables and
///   virtual tables' shadow tables aside: their contents are the virtual table's);
/// - every value in a column with a declared type is of that type's storage class, and none is
///   NULL in a NOT NULL column.
///
/// The scan reads each table once, as `integrity_check` already did.
enum SnapshotConformance {
    /// Throws ``DatabaseSnapshotError`` naming the first way `db` differs.
    static func check(_ db: Database, path: String, migrator: DatabaseMigrator) throws {
        func refuse(_ why: String) -> DatabaseSnapshotError {
            DatabaseSnapshotError("snapshot \(path) is not a database of this plugin's schema: \(why)")
        }
        guard try db.tableExists("grdb_migrations") else { throw refuse("it records no migrations") }
        let applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
        let known = migrator.migrations
        var last = -1
        for identifier in applied {
            guard let index = known.firstIndex(of: identifier) else {
                throw refuse(
                    "migration '\(identifier)' is not one of this version's (a newer version wrote it, or it was forged)")
            }
            last = max(last, index)
        }
        guard Set(applied) == Set(known.prefix(last + 1)) else {
            throw refuse("its migrations are not this version's first \(last + 1)")
        }
        let fresh = try DatabaseQueue()
        if last >= 0 { try migrator.migrate(fresh, upTo: known[last]) }
        let expected = try fresh.read(Schema.init)
        let found = try Schema(db)
        if let difference = expected.difference(from: found) { throw refuse(difference) }
        for (table, columns) in expected.tables.sorted(by: { $0.key < $1.key }) where !expected.virtual.contains(table) {
            let conditions = columns.compactMap(\.violation)
            guard !conditions.isEmpty else { continue }
            let sql = "SELECT 1 FROM \(table.quotedDatabaseIdentifier) WHERE \(conditions.joined(separator: " OR ")) LIMIT 1"
            if try Int.fetchOne(db, sql: sql) != nil {
                throw refuse("table \(table) holds a NULL or a value of another type than its column declares")
            }
        }
    }

    /// One column as `PRAGMA table_xinfo` describes it.
    struct Column: Equatable {
        let name: String
        let type: String
        let notNull: Bool
        let primaryKey: Int

        /// SQL true for a row whose value does not fit the column (nil: any value fits).
        var violation: String? {
            let quoted = name.quotedDatabaseIdentifier
            var allowed: [String]
            // SQLite's affinity rules (datatype3.html, 3.1), in their order.
            if type.contains("INT") {
                allowed = ["integer"]
            } else if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") {
                allowed = ["text"]
            } else if type.contains("BLOB") || type.isEmpty {
                allowed = []
            } else if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") {
                allowed = ["real", "integer"]
            } else if type.contains("BOOL") {
                allowed = ["integer"]
            } else {
                allowed = ["integer", "real", "text"]  // NUMERIC: dates are text or numbers
            }
            if allowed.isEmpty {
                return notNull ? "\(quoted) IS NULL" : nil
            }
            if !notNull { allowed.append("null") }
            return "typeof(\(quoted)) NOT IN (\(allowed.map { "'\($0)'" }.joined(separator: ", ")))"
        }
    }

    /// What a database is made of, for comparison.
    struct Schema {
        var tables: [String: [Column]] = [:]
        var virtual: Set<String> = []
        /// Virtual tables, triggers and views by name: their SQL (written by the plugin, not
        /// generated). Indexes by name: table, uniqueness, partial, and columns.
        var definitions: [String: String] = [:]

        init(_ db: Database) throws {
            let shadow = Set(
                try Row.fetchAll(db, sql: "PRAGMA table_list").filter { ($0["type"] as String?) == "shadow" }
                    .compactMap { $0["name"] as String? })
            let objects = try Row.fetchAll(
                db, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
            for object in objects {
                let type: String = object["type"] ?? ""
                let name: String = object["name"] ?? ""
                let table: String = object["tbl_name"] ?? ""
                let sql: String = object["sql"] ?? ""
                if shadow.contains(name) || shadow.contains(table) || name == "grdb_migrations" { continue }
                switch type {
                case "table":
                    if sql.uppercased().hasPrefix("CREATE VIRTUAL") {
                        virtual.insert(name)
                        definitions["virtual " + name] = sql
                    }
                    tables[name] = try Row.fetchAll(db, sql: "PRAGMA table_xinfo(\(name.quotedDatabaseIdentifier))").map {
                        Column(
                            name: $0["name"] ?? "", type: (($0["type"] as String?) ?? "").uppercased(),
                            notNull: (($0["notnull"] as Int?) ?? 0) != 0, primaryKey: ($0["pk"] as Int?) ?? 0)
                    }
                case "index":
                    let list = try Row.fetchAll(db, sql: "PRAGMA index_list(\(table.quotedDatabaseIdentifier))")
                    let entry = list.first { ($0["name"] as String?) == name }
                    let columns = try Row.fetchAll(db, sql: "PRAGMA index_xinfo(\(name.quotedDatabaseIdentifier))")
                        .filter { (($0["key"] as Int?) ?? 0) != 0 }
                        .map { "\(($0["name"] as String?) ?? "expr") \(($0["desc"] as Int?) ?? 0)" }
                    definitions["index " + name] =
                        "\(table) unique \((entry?["unique"] as Int?) ?? 0) partial \((entry?["partial"] as Int?) ?? 0) (\(columns.joined(separator: ", ")))"
                default:
                    definitions[type + " " + name] = sql
                }
            }
        }

        /// The first difference from `other` as a phrase, or nil when they match.
        func difference(from other: Schema) -> String? {
            for name in Set(tables.keys).union(other.tables.keys).sorted() {
                switch (tables[name], other.tables[name]) {
                case (nil, _): return "it has a table \(name) the migrations do not make"
                case (_, nil): return "it lacks the table \(name)"
                case (let a?, let b?) where a != b: return "the columns of table \(name) differ"
                default: continue
                }
            }
            for key in Set(definitions.keys).union(other.definitions.keys).sorted()
            where definitions[key] != other.definitions[key] {
                if definitions[key] == nil { return "it has a \(key) the migrations do not make" }
                if other.definitions[key] == nil { return "it lacks the \(key)" }
                return "its \(key) differs"
            }
            return nil
        }
    }
}
