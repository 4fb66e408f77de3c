import Foundation
import GRDB
import JameyTestKit
import Synchronization
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

    /// With nothing to copy the thread waits for the next commit instead of looking at the WAL
    /// every interval (it used to look 50 times a second on an idle server), and that commit
    /// wakes it: it is copied as promptly as before.
    @Test func anIdleCheckpointerWaitsForTheNextCommit() async throws {
        let (store, _, _) = try makeStore(.init(backgroundMerge: false))
        _ = try await store.put(item("words before the quiet spell"))
        let settledRuns = try await Self.quiet(store.checkpointer)
        let looks = store.checkpointer.looksRun
        try await Task.sleep(for: .milliseconds(500))
        #expect(store.checkpointer.looksRun - looks <= 2, "looked \(store.checkpointer.looksRun - looks) times in 0.5 s")

        _ = try await store.put(item("a commit after the quiet spell"))
        let woken = ContinuousClock.now
        while store.checkpointer.checkpointsRun == settledRuns, ContinuousClock.now - woken < .seconds(5) {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(store.checkpointer.checkpointsRun > settledRuns, "the commit was not checkpointed")
        #expect(ContinuousClock.now - woken < .seconds(2), "the commit waited for the thread's longest wait")
        #expect(try await store.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items") } == 2)
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

    /// A store whose WAL file is cut back past `kept` bytes once it has been idle for `idle`.
    private static func walStore(kept: Int = 16 << 10, idle: Duration) throws -> (MemoryStore, String) {
        var settings = MemorySettings()
        settings.walKeptBytes = kept
        settings.walIdle = idle
        settings.backgroundMerge = false
        let (store, _, dir) = try makeStore(settings)
        return (store, dir)
    }

    /// Stores `count` items in one batch (one commit of many pages).
    private static func storeBatch(_ store: MemoryStore, _ count: Int, _ label: String) async throws {
        let batch = (0..<count).map { item("\(label) item \($0) with words enough to fill a few pages of the log") }
        _ = try await store.store(batch)
    }

    /// A store's commit never cuts the WAL file back, however large it grew: it starts the WAL
    /// over from its first frame and the file keeps its size.
    @Test func aStoresCommitNeverCutsTheWALFileBack() async throws {
        let (store, _) = try Self.walStore(idle: .seconds(3600))
        try await Self.storeBatch(store, 400, "bulk")
        _ = try await Self.quiet(store.checkpointer)
        let grown = store.checkpointer.walBytes
        #expect(grown > store.checkpointer.keptBytes, "the batch grew the WAL past the kept size")
        _ = try await store.put(item("one more item starts the WAL over"))
        _ = try await Self.quiet(store.checkpointer)
        #expect(store.checkpointer.walBytes >= grown)
        #expect(store.checkpointer.truncationsRun == 0)
    }

    /// Once no store has committed for the idle spell, a WAL file past the kept size is cut back
    /// to nothing; every item is still there, the database is whole, and the next stores write a
    /// new WAL that is checkpointed as before and, smaller than the kept size, left as it is.
    @Test func anIdleStoresLargeWALFileIsCutBack() async throws {
        let (store, dir) = try Self.walStore(kept: 128 << 10, idle: .milliseconds(200))
        try await Self.storeBatch(store, 1000, "bulk")
        // (The migrations' WAL may have been cut before the batch on a slow machine.)
        for _ in 0..<250 where store.checkpointer.walBytes > 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(store.checkpointer.walBytes == 0)
        // The file is empty before the cut's call returns and counts it: wait for that.
        store.checkpointer.whileCheckpointing {}
        let cuts = store.checkpointer.truncationsRun
        #expect(cuts >= 1)
        let after = try await store.put(item("stored after the cut"))
        _ = try await Self.quiet(store.checkpointer)
        #expect(try await store.ids("stored after the cut") == [after])
        let check = try DatabaseQueue(path: dir + "/memory.sqlite")
        #expect(try await check.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") } == ["ok"])
        #expect(try await check.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items") } == 1001)
        try await Task.sleep(for: .milliseconds(600))
        let small = store.checkpointer.walBytes
        #expect(small > 0 && small <= store.checkpointer.keptBytes, "\(small) bytes")
        #expect(store.checkpointer.truncationsRun == cuts, "a WAL under the kept size is left as it is")
    }

    /// A cut while a search still reads frames of the WAL gives up at once (it does not wait
    /// for the reader while holding the writer's lock) and loses nothing; once the reader is
    /// done, it cuts.
    @Test func aCutGivesUpWhileASearchReadsTheWAL() throws {
        let (store, _) = try Self.walStore(idle: .seconds(3600))
        let checkpointer = store.checkpointer
        let written = DispatchSemaphore(value: 0)
        let reading = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        let cutTried = DispatchSemaphore(value: 0)
        // The checkpointer's thread is held off while the pages are written and the reader
        // begins, so the reader's snapshot has frames not yet copied.
        let writer = Thread {
            try? checkpointer.whileCheckpointing {
                try store.pool.write { db in
                    try db.execute(sql: "CREATE TABLE scratch (v BLOB)")
                    try db.execute(
                        sql: """
                            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
                            INSERT INTO scratch SELECT randomblob(3000) FROM n
                            """)
                }
                written.signal()
                reading.wait()
            }
            released.signal()
        }
        writer.start()
        written.wait()
        let rowsSeen = Mutex<Int?>(nil)
        let readDone = DispatchSemaphore(value: 0)
        let reader = Thread {
            let rows = try? store.pool.read { db in
                let rows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM scratch")
                reading.signal()
                cutTried.wait()
                return rows
            }
            rowsSeen.withLock { $0 = rows ?? nil }
            readDone.signal()
        }
        reader.start()
        released.wait()
        let started = ContinuousClock.now
        #expect(checkpointer.walBytes > checkpointer.keptBytes)
        #expect(!checkpointer.truncateIfLarge(), "a reader holds frames of the WAL")
        #expect(ContinuousClock.now - started < .milliseconds(2500), "it waited for the reader (busy timeout 5 s)")
        cutTried.signal()
        readDone.wait()
        #expect(rowsSeen.withLock { $0 } == 40)
        #expect(checkpointer.truncateIfLarge())
        #expect(checkpointer.walBytes == 0)
        #expect(try store.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM scratch") } == 40)
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
