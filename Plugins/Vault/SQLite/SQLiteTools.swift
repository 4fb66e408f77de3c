import Foundation
import GRDB
import GRDBSQLite
import VaultCore

/// The SQLite side of the vault: integrity checks of restored databases and consistent copies of live ones.
public enum SQLiteTools {
    /// Runs `PRAGMA integrity_check` on the database at `url`; nil when it answers `ok`, else its report.
    public static func integrityCheck(_ url: URL) -> String? {
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: url.path, configuration: configuration)
            defer { try? queue.close() }
            let rows = try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
            return rows == ["ok"] ? nil : rows.prefix(5).joined(separator: "; ")
        } catch {
            return "cannot open: \(error)"
        }
    }

    /// Copies a live database to `destination` with SQLite's online backup API (consistent even
    /// while other connections write; committed WAL content included).
    public static func copy(_ source: URL, to destination: URL) throws {
        let from = try DatabaseQueue(path: source.path)
        defer { try? from.close() }
        let to = try DatabaseQueue(path: destination.path)
        defer { try? to.close() }
        try from.backup(to: to)
    }

    /// Runs `PRAGMA integrity_check` on a database image in memory (SQLite's `memdb`, read-only,
    /// over `image` itself: nothing is copied or written to disk); nil when it answers `ok`. A WAL
    /// database's header is set to rollback-journal mode in the image first (bytes 18 and 19, 2 → 1),
    /// as there is no `-wal` file beside an image.
    public static func integrityCheck(image: UnsafeMutableRawBufferPointer) -> String? {
        guard let base = image.baseAddress else { return "empty database image" }
        if image.count >= 100, image[18] == 2, image[19] == 2 {
            image[18] = 1
            image[19] = 1
        }
        do {
            let queue = try DatabaseQueue()
            defer { try? queue.close() }
            return try queue.inDatabase { db -> String? in
                let code = sqlite3_deserialize(
                    db.sqliteConnection, "main", base.assumingMemoryBound(to: UInt8.self),
                    sqlite3_int64(image.count), sqlite3_int64(image.count), UInt32(SQLITE_DESERIALIZE_READONLY))
                guard code == SQLITE_OK else { return "cannot open the image: SQLite error \(code)" }
                let rows = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                return rows == ["ok"] ? nil : rows.prefix(5).joined(separator: "; ")
            }
        } catch {
            return "cannot open: \(error)"
        }
    }

    /// A `VerifyOptions.databaseCheck` closure.
    public static let check: @Sendable (URL) -> String? = { integrityCheck($0) }

    /// A `VerifyOptions.imageCheck` closure.
    public static let checkImage: @Sendable (UnsafeMutableRawBufferPointer) -> String? = { integrityCheck(image: $0) }
}

extension SQLiteTools {
    /// The first column of every row of `sql` on the database at `url` (read-only), as text.
    public static func strings(_ url: URL, _ sql: String) throws -> [String] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: url.path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { try String.fetchAll($0, sql: sql) }
    }
}
