import Foundation
import GRDB
import JameyGRDB
import JameyTestKit
import Testing

/// The kit's one-line snapshot and restore of a GRDB database, on real SQLite files in WAL mode.
@Suite struct DatabaseSnapshotTests {
    func makePool(_ dir: String, _ name: String = "live.sqlite") throws -> DatabasePool {
        let pool = try DatabasePool(path: dir + "/" + name)
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        }
        return pool
    }

    func values(_ pool: DatabasePool) throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "SELECT v FROM t ORDER BY id") }
    }

    @Test func snapshotHoldsWhatWasCommittedAndRestoreBringsItBack() throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-grdb")
        let snapshot = try TemporaryDirectory.make(prefix: "jamey-grdb-snap")
        let pool = try makePool(dir)
        try pool.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('a'), ('b')") }
        // Committed rows still in the -wal file are in the snapshot (a file copy would miss them).
        #expect(FileManager.default.fileExists(atPath: dir + "/live.sqlite-wal"))
        try pool.writeSnapshot(into: snapshot, fileName: "live.sqlite")
        #expect(try FileManager.default.contentsOfDirectory(atPath: snapshot) == ["live.sqlite"], "no partial file left")
        try pool.write { db in try db.execute(sql: "DELETE FROM t WHERE v = 'a'; INSERT INTO t (v) VALUES ('c')") }
        #expect(try values(pool) == ["b", "c"])
        try pool.restoreSnapshot(from: snapshot, fileName: "live.sqlite")
        #expect(try values(pool) == ["a", "b"])
    }

    /// `prepare` writes into the copy that replaces the database, reading the live one; what it
    /// writes arrives with the swap, `swapped` runs after it, and a `prepare` that throws leaves
    /// the database as it was and no copy behind.
    @Test func aPreparedRestoreArrivesWithTheSwapOrNotAtAll() throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-grdb")
        let snapshot = try TemporaryDirectory.make(prefix: "jamey-grdb-snap")
        let pool = try makePool(dir)
        try pool.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('a')") }
        try pool.writeSnapshot(into: snapshot, fileName: "live.sqlite")
        try pool.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('b')") }
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try pool.restoreSnapshot(
                from: snapshot, fileName: "live.sqlite",
                prepare: { db, _ in
                    try db.execute(sql: "INSERT INTO t (v) VALUES ('never')")
                    throw Refused()
                })
        }
        #expect(try values(pool) == ["a", "b"], "a refused prepare changes nothing")
        let swappedSaw = LockedBox<[String]>([])
        try pool.restoreSnapshot(
            from: snapshot, fileName: "live.sqlite",
            prepare: { db, current in
                let live = try Int.fetchOne(current, sql: "SELECT COUNT(*) FROM t") ?? -1
                try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: ["live had \(live)"])
            },
            swapped: { current in
                let seen = try String.fetchAll(current, sql: "SELECT v FROM t ORDER BY id")
                swappedSaw.withLock { $0 = seen }
            })
        #expect(try values(pool) == ["a", "live had 2"])
        #expect(swappedSaw.value == ["a", "live had 2"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".restoring") }.isEmpty)
    }

    @Test func aSnapshotTakenWhileAWriterRunsIsConsistent() throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-grdb")
        let pool = try makePool(dir)
        let stop = LockedBox(false)
        let writer = Thread {
            var i = 0
            while !stop.value {
                i += 1
                try? pool.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: ["row \(i)"]) }
            }
        }
        writer.start()
        defer { stop.set(true) }
        _ = TestKernel.eventually { ((try? values(pool).count) ?? 0) > 200 }
        for round in 0..<3 {
            let snapshot = try TemporaryDirectory.make(prefix: "jamey-grdb-snap")
            try pool.writeSnapshot(into: snapshot, fileName: "live.sqlite")
            let copy = try DatabaseQueue(path: snapshot + "/live.sqlite")
            let (check, rows) = try copy.read { db in
                (
                    try String.fetchAll(db, sql: "PRAGMA integrity_check"),
                    try String.fetchAll(db, sql: "SELECT v FROM t ORDER BY id")
                )
            }
            #expect(check == ["ok"], "round \(round)")
            // A prefix of the writer's rows with no gap: exactly the transactions committed before it.
            #expect(rows == (0..<rows.count).map { "row \($0 + 1)" }, "round \(round)")
            #expect(rows.count > 200)
        }
    }

    @Test func aMissingOrDamagedOrForeignSnapshotIsRefusedAndNothingChanges() throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-grdb")
        let pool = try makePool(dir)
        try pool.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('kept')") }
        let empty = try TemporaryDirectory.make(prefix: "jamey-grdb-empty")
        #expect {
            try pool.restoreSnapshot(from: empty, fileName: "live.sqlite")
        } throws: { "\($0)".contains("no snapshot live.sqlite in") }

        let garbage = try TemporaryDirectory.make(prefix: "jamey-grdb-garbage")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: garbage + "/live.sqlite"))
        #expect {
            try pool.restoreSnapshot(from: garbage, fileName: "live.sqlite")
        } throws: { "\($0)".contains("is not a readable SQLite database") }

        // A real database with a page overwritten in the middle of its table.
        let damaged = try TemporaryDirectory.make(prefix: "jamey-grdb-damaged")
        let big = try makePool(damaged, "source.sqlite")
        try big.write { db in
            for i in 0..<2000 {
                try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: [String(repeating: "x", count: 100) + "\(i)"])
            }
        }
        try big.writeSnapshot(into: damaged, fileName: "live.sqlite")
        try big.close()
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: damaged + "/live.sqlite"))
        try handle.seek(toOffset: 4096 * 5 + 100)
        try handle.write(contentsOf: Data(repeating: 0xFF, count: 2000))
        try handle.close()
        #expect {
            try pool.restoreSnapshot(from: damaged, fileName: "live.sqlite")
        } throws: { "\($0)".contains("is damaged") || "\($0)".contains("not a readable SQLite database") }

        let foreign = try TemporaryDirectory.make(prefix: "jamey-grdb-foreign")
        let other = try DatabaseQueue(path: foreign + "/live.sqlite")
        try other.write { db in try db.execute(sql: "CREATE TABLE unrelated (x)") }
        try other.close()
        #expect {
            try pool.restoreSnapshot(from: foreign, fileName: "live.sqlite") { db in
                guard try db.tableExists("t") else { throw DatabaseSnapshotError.notThisPlugin(foreign, expected: "table t") }
            }
        } throws: { "\($0)".contains("holds no table t") }

        #expect(try values(pool) == ["kept"], "every refused restore left the database as it was")
        #expect(throws: DatabaseSnapshotError.self) { try pool.writeSnapshot(into: dir, fileName: "../escape.sqlite") }
    }
}

/// A `DatabaseQueue` in WAL mode is copied through a connection of the snapshot's own: its one
/// connection may be busy (here, in a write transaction another thread holds) meanwhile.
extension DatabaseSnapshotTests {
    @Test func aQueueInWALModeIsSnapshottedWhileItsConnectionIsBusy() throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-grdb-queue")
        let snapshot = try TemporaryDirectory.make(prefix: "jamey-grdb-queue-snap")
        var configuration = Configuration()
        configuration.journalMode = .wal
        let queue = try DatabaseQueue(path: dir + "/live.sqlite", configuration: configuration)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            try db.execute(sql: "INSERT INTO t (v) VALUES ('committed')")
        }
        let hold = HeldOnThread(timeout: 20) { whileHeld in
            try? queue.inDatabase { db in
                try db.execute(sql: "BEGIN IMMEDIATE; INSERT INTO t (v) VALUES ('uncommitted')")
                whileHeld()
                try db.execute(sql: "ROLLBACK")
            }
        }
        hold.waitUntilHeld()
        try queue.writeSnapshot(into: snapshot, fileName: "live.sqlite")
        let whileBusy = hold.isHeld
        hold.release()
        #expect(whileBusy, "the snapshot waited for the queue's connection")
        let copy = try DatabaseQueue(path: snapshot + "/live.sqlite")
        #expect(try copy.read { try String.fetchAll($0, sql: "SELECT v FROM t") } == ["committed"])
    }

    @Test func aQueueInRollbackModeIsStillSnapshotted() throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-grdb-rollback")
        let snapshot = try TemporaryDirectory.make(prefix: "jamey-grdb-rollback-snap")
        let queue = try DatabaseQueue(path: dir + "/live.sqlite")
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('kept')")
        }
        #expect(try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "delete")
        try queue.writeSnapshot(into: snapshot, fileName: "live.sqlite")
        let copy = try DatabaseQueue(path: snapshot + "/live.sqlite")
        #expect(try copy.read { try String.fetchAll($0, sql: "SELECT v FROM t") } == ["kept"])
    }

    /// With the plugin's migrator, a snapshot must be what those migrations make: one written
    /// by an earlier version (fewer migrations) is restored and migrated on; one with a migration
    /// this version does not know, a table, index or trigger of someone else's, or a value of
    /// another type than its column declares is refused, and the live database stays as it was.
    @Test func aSnapshotIsRestoredOnlyWhenItsMigrationsCouldHaveMadeIt() throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER, d DATETIME)")
        }
        let v1 = migrator
        migrator.registerMigration("v2") { db in try db.execute(sql: "CREATE INDEX t_by_v ON t(v)") }
        let dir = try TemporaryDirectory.make(prefix: "jamey-grdb")
        let live = try DatabasePool(path: dir + "/live.sqlite")
        try migrator.migrate(live)
        try live.write { db in try db.execute(sql: "INSERT INTO t (v, n, d) VALUES ('live', 1, '2026-12-05 10:00:00.000')") }

        func snapshot(_ made: DatabaseMigrator, _ forgery: String?) throws -> String {
            let directory = try TemporaryDirectory.make(prefix: "jamey-grdb-snap")
            let queue = try DatabaseQueue(path: directory + "/s.sqlite")
            try made.migrate(queue)
            try queue.write { db in
                try db.execute(sql: "INSERT INTO t (v, n, d) VALUES ('old', 2, 1796500000.5)")
                if let forgery { try db.execute(sql: forgery) }
            }
            try queue.close()
            return directory
        }
        func liveValues() throws -> [String] { try live.read { try String.fetchAll($0, sql: "SELECT v FROM t") } }

        for (forgery, reason) in [
            ("INSERT INTO grdb_migrations VALUES ('v3')", "migration 'v3' is not one of this version's"),
            ("CREATE TABLE extra (x)", "it has a table extra the migrations do not make"),
            ("CREATE INDEX t_by_n ON t(n)", "it has a index t_by_n the migrations do not make"),
            ("CREATE TRIGGER wipe AFTER INSERT ON t BEGIN DELETE FROM t; END", "it has a trigger wipe"),
            ("UPDATE t SET n = 'two'", "table t holds a NULL or a value of another type"),
            ("DROP INDEX t_by_v", "it lacks the index t_by_v"),
        ] {
            let directory = try snapshot(migrator, forgery)
            #expect(throws: DatabaseSnapshotError.self, "\(forgery)") {
                try live.restoreSnapshot(from: directory, fileName: "s.sqlite", migrator: migrator)
            }
            do {
                try live.restoreSnapshot(from: directory, fileName: "s.sqlite", migrator: migrator)
            } catch {
                #expect("\(error)".contains(reason), "\(error)")
            }
            #expect(try liveValues() == ["live"])
        }
        // An earlier version's snapshot: restored, then migrated on by the plugin.
        try live.restoreSnapshot(from: try snapshot(v1, nil), fileName: "s.sqlite", migrator: migrator)
        #expect(try liveValues() == ["old"])
        try migrator.migrate(live)
        try live.restoreSnapshot(from: try snapshot(migrator, nil), fileName: "s.sqlite", migrator: migrator)
        #expect(try liveValues() == ["old"])
    }

    /// A restore writes every page through the WAL; the WAL is cut back afterwards instead of
    /// keeping the database's size until a clean stop.
    @Test func aRestoreLeavesNoLargeWAL() throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-grdb-wal")
        let snapshot = try TemporaryDirectory.make(prefix: "jamey-grdb-wal-snap")
        let pool = try makePool(dir)
        try pool.write { db in
            for _ in 0..<200 {
                try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: [String(repeating: "x", count: 8_192)])
            }
        }
        try pool.writeSnapshot(into: snapshot, fileName: "live.sqlite")
        try pool.restoreSnapshot(from: snapshot, fileName: "live.sqlite", requiringTable: "t")
        let wal = try FileManager.default.attributesOfItem(atPath: dir + "/live.sqlite-wal")[.size] as? Int
        #expect(wal == 0)
        #expect(try values(pool).count == 200)
    }

    /// A snapshot that meets a full disk says so (SQLite's own message was "not an error") and
    /// leaves no partial file. Needs root for a small tmpfs; skipped otherwise.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aFullDiskIsNamedAndLeavesNoPartialFile() throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-grdb-full")
        let small = dir + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mounted = try Run.command("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", small])
        try #require(mounted.status == 0, "\(mounted.output)")
        defer { _ = try? Run.command("/bin/umount", [small]) }
        let pool = try makePool(dir)
        try pool.write { db in
            for _ in 0..<64 {
                try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: [String(repeating: "x", count: 16_384)])
            }
        }
        #expect {
            try pool.writeSnapshot(into: small, fileName: "live.sqlite")
        } throws: { error in
            "\(error)" == "cannot write the snapshot live.sqlite into \(small): No space left on device"
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: small).isEmpty)
    }
}
