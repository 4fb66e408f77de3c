import Foundation
import GRDB
import JameyTestKit
import Testing

@testable import MemoryPlugin

/// The WAL checkpointer never starts a checkpoint on a WAL it knows is copied already (the
/// pattern of SQLite's WAL-reset bug), still copies every commit, and the writer still
/// checkpoints past its bound.
@Suite struct CheckpointTests {
    /// A ledger after one complete checkpoint that saw `frames` frames, with `before` commits
    /// when it started and `during` more while it ran.
    private func settled(frames: Int, before: Int32 = 3, during: Int32 = 0, framesDuring: Int32 = 0) -> WALLedger {
        var ledger = WALLedger()
        for i in 0..<before { ledger.noteCommit(frames: 10 + i) }
        let commitsBefore = ledger.commits
        for _ in 0..<during { ledger.noteCommit(frames: framesDuring) }
        ledger.noteCheckpoint(frames: frames, copied: frames, commitsBefore: commitsBefore)
        return ledger
    }

    @Test func aCheckpointIsDueUntilOneHasCopiedEverything() {
        var ledger = WALLedger()
        #expect(ledger.due)
        ledger.noteCommit(frames: 8)
        ledger.noteCheckpoint(frames: 8, copied: 5, commitsBefore: 1)
        #expect(ledger.due, "readers held frames back: the WAL is not all copied")
        ledger.noteCheckpoint(frames: 8, copied: 8, commitsBefore: 1)
        #expect(!ledger.due, "a checkpoint now would start on a copied WAL")
    }

    @Test func aCommitAfterTheCompleteCheckpointMakesTheNextDue() {
        var ledger = settled(frames: 12)
        #expect(!ledger.due)
        ledger.noteCommit(frames: 2)
        #expect(ledger.due, "the commit started the WAL over: two frames to copy")
    }

    @Test func aCommitWhileTheCheckpointRanCountsOnlyWhenItAddedFramesPastWhatItSaw() {
        #expect(settled(frames: 12, during: 1, framesDuring: 15).due, "three frames past the checkpoint's")
        #expect(!settled(frames: 12, during: 1, framesDuring: 12).due, "the checkpoint saw its frames")
        #expect(!settled(frames: 12, during: 2, framesDuring: 9).due)
    }

    @Test func anIdleStoreRunsNoCheckpointsAndTheNextStoreIsCopied() async throws {
        let (store, _, _) = try makeStore(.init(backgroundMerge: false))
        _ = try await store.put(item("the first words in the log"))
        let settledRuns = try await Self.quiet(store.checkpointer)
        try await Task.sleep(for: .milliseconds(300))
        #expect(store.checkpointer.checkpointsRun == settledRuns, "checkpoints ran on a WAL already copied")

        _ = try await store.put(item("a second item after a quiet spell"))
        let after = try await Self.quiet(store.checkpointer)
        #expect(after > settledRuns, "the new commit was not checkpointed")
    }

    /// A pool whose writer checkpoints past four pages, with no thread of its own.
    static func boundPool() throws -> (WALCheckpointer, DatabasePool) {
        let dir = try TemporaryDirectory.make(prefix: "jamey-memory-bound")
        let checkpointer = WALCheckpointer(boundPages: 4)
        var configuration = Configuration()
        configuration.prepareDatabase { db in checkpointer.install(on: db) }
        return (checkpointer, try DatabasePool(path: dir + "/bound.sqlite", configuration: configuration))
    }

    /// Writes twenty pages or more in one commit.
    static func writeTwentyPages(_ pool: DatabasePool) throws {
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE t (v BLOB)")
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
                    INSERT INTO t SELECT randomblob(3000) FROM n
                    """)
        }
    }

    @Test func theWriterCheckpointsInItsCommitPastTheBound() throws {
        let (checkpointer, pool) = try Self.boundPool()
        try Self.writeTwentyPages(pool)
        #expect(checkpointer.checkpointsRun == 1, "twenty pages or more in the WAL, past a bound of four")
        try pool.write { db in try db.execute(sql: "INSERT INTO t VALUES (1)") }
        #expect(checkpointer.checkpointsRun == 1, "a commit under the bound leaves the WAL to the thread")
    }

    /// A commit past the bound while the checkpointer's thread copies leaves the WAL to it: the
    /// commit does not wait for that copy to end and run one of its own.
    @Test func aCommitPastTheBoundWhileTheThreadCopiesDoesNotWait() throws {
        let (checkpointer, pool) = try Self.boundPool()
        try checkpointer.whileCheckpointing { try Self.writeTwentyPages(pool) }
        #expect(checkpointer.checkpointsRun == 0, "past the bound, but the thread was copying")
        try pool.write { db in try db.execute(sql: "INSERT INTO t VALUES (1)") }
        #expect(checkpointer.checkpointsRun == 1, "the next commit past the bound checkpoints")
    }

    /// Stores from many tasks and searches while the checkpointer copies: the database is whole
    /// afterwards and holds every acknowledged item.
    @Test func storesSearchesAndCheckpointsTogetherLeaveTheDatabaseWhole() async throws {
        let (store, _, dir) = try makeStore()
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var ids: [String] = []
                    for i in 0..<150 {
                        ids.append(try await store.put(item("writer \(writer) item \(i) words shared across the load")))
                        if i % 10 == 0 { _ = try await store.ids("shared load") }
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        _ = try await Self.quiet(store.checkpointer)
        let check = try DatabaseQueue(path: dir + "/memory.sqlite")
        let verdict = try await check.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
        #expect(verdict == ["ok"])
        let count = try await check.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items") }
        #expect(count == ids.count)
        #expect(store.checkpointer.checkpointsRun > 0)
    }

    /// Waits until the checkpointer's count stays put for five intervals.
    /// - Returns: that count.
    private static func quiet(_ checkpointer: WALCheckpointer) async throws -> Int {
        var last = -1
        var steady = 0
        for _ in 0..<500 {
            let now = checkpointer.checkpointsRun
            steady = now == last ? steady + 1 : 0
            if steady == 5 { return now }
            last = now
            try await Task.sleep(for: WALCheckpointer.interval)
        }
        Issue.record("the checkpointer never settled")
        return last
    }
}
