import Foundation
import GRDB
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

    /// A `VerifyOptions.databaseCheck` closure.
    public static let check: @Sendable (URL) -> String? = { integrityCheck($0) }
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
