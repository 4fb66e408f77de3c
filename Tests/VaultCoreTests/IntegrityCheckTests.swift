import Foundation
import GRDB
import JameyTestKit
import Testing
import VaultCore
import VaultSQLite

extension VaultSerial {
    /// Verify restores the latest snapshot and runs `PRAGMA integrity_check` on each database: in
    /// memory (the default, up to `memoryLimit` per source) and from a scratch directory (larger
    /// sources), with the same verdicts.
    @Suite struct IntegrityCheckTests {
        /// A database of a few hundred pages in WAL mode (as plugins keep theirs) in the fixture's
        /// data directory, checkpointed and closed.
        func database(_ f: Fixture) throws -> URL {
            let url = f.data.appendingPathComponent("plugin/store.sqlite")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let queue = try DatabasePool(path: url.path)
            try queue.write { db in
                try db.execute(sql: "CREATE TABLE item (id INTEGER PRIMARY KEY, body TEXT)")
                for n in 0..<3000 {
                    try db.execute(
                        sql: "INSERT INTO item (body) VALUES (?)", arguments: ["item \(n) " + String(repeating: "x", count: 300)])
                }
                try db.execute(sql: "CREATE INDEX item_body ON item(body)")
            }
            try queue.writeWithoutTransaction { try $0.checkpoint(.truncate) }
            try queue.close()
            #expect(try Data(contentsOf: url)[18] == 2, "WAL mode in the header")
            return url
        }

        @Test(arguments: [nil, 0])
        func aHealthyDatabaseIsCheckedInMemoryAndFromDisk(memoryLimit: Int?) async throws {
            let f = try Fixture()
            defer { f.destroy() }
            _ = try database(f)
            try f.write("notes.txt", Fixture.random(50_000))
            _ = try await f.backup()
            let report = try await onThread { try f.verifySync(memoryLimit: memoryLimit) }
            #expect(report.problems == [])
            #expect(report.databasesChecked == 1)
            #expect(report.filesRestored == 2)
        }

        /// A database whose pages are authentic (the vault stored what it was given) but whose
        /// b-tree is damaged: only the integrity check can tell, and it names the file either way.
        @Test(arguments: [nil, 0])
        func aDamagedDatabaseIsNamedInMemoryAndFromDisk(memoryLimit: Int?) async throws {
            let f = try Fixture()
            defer { f.destroy() }
            let url = try database(f)
            let handle = try FileHandle(forUpdating: url)
            let size = try handle.seekToEnd()
            // Garbage over a page in the index's half of the file.
            try handle.seek(toOffset: size - 8 * 4096 + 100)
            try handle.write(contentsOf: Data(repeating: 0xA5, count: 2000))
            try handle.close()
            _ = try await f.backup()
            let report = try await onThread { try f.verifySync(memoryLimit: memoryLimit) }
            let problem = try #require(report.problems.first { $0.kind == .integrityCheck }, "\(report.problems)")
            #expect(problem.subject == "data/plugin/store.sqlite")
            #expect(report.databasesChecked == 0)
        }
    }
}
