import Foundation
import GRDB

/// Snapshot and restore of a plugin's SQLite database, for its `snapshot` and `restore` hooks:
///
/// ```swift
/// public func snapshot(to directory: String) async throws {
///     try pool.writeSnapshot(into: directory, fileName: "memory.sqlite")
/// }
/// public func restore(from directory: String) async throws {
///     try pool.restoreSnapshot(from: directory, fileName: "memory.sqlite", requiringTable: "items")
/// }
/// ```
///
/// Both go through SQLite's online backup API, never a copy of the file: a live database in WAL
/// mode keeps committed transactions in its `-wal` file, which a file copy misses. The copy is
/// read inside one read transaction, so it holds exactly the transactions committed before it
/// began, and writers are not blocked while it runs: a `DatabasePool` reads it with one of its
/// readers; a `DatabaseQueue` in WAL mode with a read-only connection opened for the copy beside
/// its own (which would otherwise be held for the whole copy). A `DatabaseQueue` in another
/// journal mode copies through its own connection.
extension DatabaseWriter {
    /// Writes a consistent copy of this database to `directory/fileName`.
    ///
    /// The copy is written under a temporary name, synced and renamed into place, so a file
    /// with the final name is always a complete database.
    /// - Parameters:
    ///   - directory: an existing directory (the one the snapshot hook was given).
    ///   - fileName: the file name inside it, e.g. `keys.sqlite`.
    /// - Throws: ``DatabaseSnapshotError`` or GRDB's `DatabaseError`.
    public func writeSnapshot(into directory: String, fileName: String) throws {
        let final = try DatabaseSnapshotError.path(directory, fileName)
        let partial = (directory as NSString).appendingPathComponent(".\(fileName).partial")
        try? FileManager.default.removeItem(atPath: partial)
        do {
            // The copy is a new file that is synced once, whole, before it is renamed into place:
            // no journal and no syncs while it is written.
            var options = Configuration()
            options.journalMode = .default
            options.prepareDatabase { db in
                try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF")
            }
            let copy = try DatabaseQueue(path: partial, configuration: options)
            try copySource { try $0.backup(to: copy) }
            try copy.close()
            try syncFile(partial)
            guard rename(partial, final) == 0 else {
                throw DatabaseSnapshotError(
                    "cannot move the snapshot into place at \(final): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            // SQLite says "not an error" for a full disk met by the backup: name it.
            if let failed = error as? DatabaseError, failed.resultCode.primaryResultCode == .SQLITE_FULL {
                throw DatabaseSnapshotError(
                    "cannot write the snapshot \(fileName) into \(directory): \(String(cString: strerror(ENOSPC)))")
            }
            throw error
        }
    }

    /// Runs `body` with the writer to copy from: this one, or for a `DatabaseQueue` in WAL mode a
    /// read-only connection of its own on the same file, so the queue's connection stays free.
    /// (The journal mode is asked of that connection: asking the queue would wait for it.) When
    /// that connection cannot be opened or asked, the queue copies through its own.
    private func copySource(_ body: (any DatabaseReader) throws -> Void) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "snapshot reader"
        guard let queue = self as? DatabaseQueue,
            let reader = try? DatabaseQueue(path: queue.path, configuration: configuration)
        else { return try body(self) }
        defer { try? reader.close() }
        let mode = try? reader.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        try body(mode == "wal" ? reader : self)
    }

    /// Replaces the whole contents of this database with the snapshot at `directory/fileName`.
    ///
    /// The snapshot is checked first (`PRAGMA integrity_check`); a missing, damaged or
    /// non-SQLite file is refused and this database is left as it was. The copy goes into the
    /// live database in one step, so its readers see either the old contents or the new.
    /// - Parameters:
    ///   - directory: the directory the snapshot hook wrote.
    ///   - fileName: the file name ``writeSnapshot(into:fileName:)`` was given.
    ///   - table: a table the snapshot must have: a database without it is not this plugin's
    ///     and is refused (``DatabaseSnapshotError/notThisPlugin(_:expected:)``).
    ///   - migrator: the plugin's migrations: the snapshot must be a database they make, its
    ///     values of its columns' declared types (see ``SnapshotConformance``), so rows the
    ///     plugin reads with GRDB's subscripts cannot stop the process, and no trigger or table
    ///     it never made comes with them.
    ///   - check: runs on the snapshot (read-only) before anything is replaced, to refuse it with
    ///     the error it throws.
    ///   - prepare: for state that must change in the same step as the swap (a sequence that
    ///     must go on past the live database's, rows of the snapshot that must not be replayed):
    ///     given, the snapshot is first copied beside this database, `migrator`'s migrations run
    ///     on the copy, then `prepare` writes to it in a transaction, with this database's
    ///     writer connection to read from; the copy then replaces this database in one step, and
    ///     the writer is held from before `prepare` until the swap, so nothing commits between.
    ///     A crash at any point leaves the old contents or the prepared new ones, never the
    ///     snapshot unprepared. (It costs a second copy of the snapshot on disk while it runs.)
    ///   - swapped: runs right after a prepared copy replaced this database, on its writer
    ///     connection before the writer is let go (to set in-memory state to what `prepare`
    ///     wrote before the next write can read it); not run when the restore fails.
    /// - Throws: ``DatabaseSnapshotError`` naming the file and what is wrong with it, the error of
    ///   `check` or `prepare`, or GRDB's `DatabaseError`.
    public func restoreSnapshot(
        from directory: String, fileName: String, requiringTable table: String? = nil,
        migrator: DatabaseMigrator? = nil, check: ((Database) throws -> Void)? = nil,
        prepare: ((_ snapshot: Database, _ current: Database) throws -> Void)? = nil,
        swapped: ((Database) throws -> Void)? = nil
    ) throws {
        let path = try DatabaseSnapshotError.path(directory, fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw DatabaseSnapshotError("no snapshot \(fileName) in \(directory)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        let source: DatabaseQueue
        do {
            source = try DatabaseQueue(path: path, configuration: configuration)
            let problems = try source.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
            guard problems == ["ok"] else {
                throw DatabaseSnapshotError(
                    "snapshot \(path) is damaged: \(problems.prefix(3).joined(separator: "; "))")
            }
        } catch let error as DatabaseSnapshotError {
            throw error
        } catch let error as DatabaseError {
            throw DatabaseSnapshotError("snapshot \(path) is not a readable SQLite database: \(error)")
        }
        if let table {
            guard try source.read({ db in try db.tableExists(table) }) else {
                throw DatabaseSnapshotError.notThisPlugin(path, expected: "table \(table)")
            }
        }
        if let migrator { try source.read { db in try SnapshotConformance.check(db, path: path, migrator: migrator) } }
        if let check { try source.read(check) }
        guard let prepare else {
            try source.backup(to: self)
            return truncateWAL()
        }
        // The copy and its migrations before the writer is taken: stores go on meanwhile.
        let staging = PreparedRestore.copyPath(besides: self.path, fileName: fileName)
        PreparedRestore.remove(staging)
        defer { PreparedRestore.remove(staging) }
        var options = Configuration()
        options.journalMode = .default
        options.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
        let copy = try DatabaseQueue(path: staging, configuration: options)
        defer { try? copy.close() }
        try source.backup(to: copy)
        try migrator?.migrate(copy)
        try writeWithoutTransaction { current in
            try copy.write { db in try prepare(db, current) }
            try copy.read { db in try db.backup(to: current) }
            try swapped?(current)
        }
        truncateWAL()
    }

    /// Copies a WAL database's WAL into the file and cuts it to nothing: a restore writes every
    /// page of the database through it, and the WAL file kept that size (a 237 MB WAL beside a
    /// 236 MB cache database) until a clean stop. Best effort: a reader still on the WAL makes
    /// it give up after the connection's busy timeout, with nothing lost.
    private func truncateWAL() {
        try? writeWithoutTransaction { db in
            guard try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal" else { return }
            try db.checkpoint(.truncate)
        }
    }
}

/// The copy a restore with `prepare:` makes
/// (``DatabaseWriter/restoreSnapshot(from:fileName:requiringTable:migrator:check:prepare:swapped:)``):
/// beside the database (same file system, a directory the plugin writes), hidden; in the
/// temporary directory for an in-memory database.
public enum PreparedRestore {
    /// Removes the copy a restore killed while preparing it left beside the database at `path`;
    /// call it before opening the database (a restore removes its own when it ends).
    public static func removeLeftovers(besides path: String) {
        remove(copyPath(besides: path, fileName: (path as NSString).lastPathComponent))
    }

    static func copyPath(besides live: String, fileName: String) -> String {
        guard !live.isEmpty, live != ":memory:", !live.hasPrefix("file:") else {
            return (NSTemporaryDirectory() as NSString).appendingPathComponent(".\(fileName).\(getpid()).restoring")
        }
        let directory = (live as NSString).deletingLastPathComponent
        return (directory as NSString).appendingPathComponent(".\((live as NSString).lastPathComponent).restoring")
    }

    static func remove(_ copy: String) {
        for suffix in ["", "-journal"] { try? FileManager.default.removeItem(atPath: copy + suffix) }
    }
}

/// fsync of a file, so the rename after it publishes complete bytes.
private func syncFile(_ path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw DatabaseSnapshotError("cannot open \(path) to sync it: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw DatabaseSnapshotError("cannot sync \(path): \(String(cString: strerror(errno)))") }
}

/// Why a snapshot could not be written or restored: one sentence naming the file.
public struct DatabaseSnapshotError: Error, CustomStringConvertible, Sendable {
    /// The sentence.
    public let description: String

    init(_ description: String) { self.description = description }

    /// For a restore's `check`: the snapshot at `path` is a database, but not this plugin's.
    /// - Parameters:
    ///   - path: the snapshot file.
    ///   - expected: what it should hold ("API keys").
    public static func notThisPlugin(_ path: String, expected: String) -> DatabaseSnapshotError {
        DatabaseSnapshotError("snapshot \(path) holds no \(expected): it is not this plugin's database")
    }

    /// `directory/fileName`, refusing a file name that would leave the directory.
    static func path(_ directory: String, _ fileName: String) throws(DatabaseSnapshotError) -> String {
        guard !fileName.isEmpty, !fileName.contains("/"), fileName != ".", fileName != ".." else {
            throw DatabaseSnapshotError("snapshot file name '\(fileName)' must be a plain file name")
        }
        return (directory as NSString).appendingPathComponent(fileName)
    }
}
