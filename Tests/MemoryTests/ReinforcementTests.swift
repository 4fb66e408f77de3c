import Foundation
import GRDB
import JameyTestKit
import MemoryCore
import Synchronization
import Testing

@testable import MemoryPlugin

/// Retrievals are read, noted and written by the writer later (``Reinforcements``).
@Suite struct ReinforcementTests {
    /// The access count and last access in the file, not counting what is only noted.
    private func stored(_ store: MemoryStore, _ id: String) throws -> (count: Int, last: Double) {
        try store.pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT access_count, last_accessed_at FROM items WHERE id = ?", arguments: [id])
            return (row?[0] ?? -1, row?[1] ?? 0)
        }
    }

    /// Holds the writer's lock (a transaction that waits) until the returned closure is called,
    /// or for a minute at most. The wait for the hold runs off the cooperative pool: a pool
    /// thread blocked on it (two of them here) starves the other suites' kernels.
    private func holdWriter(_ store: MemoryStore) async throws -> @Sendable () -> Void {
        let hold = HeldOnThread(timeout: 60) { whileHeld in store.pool.writeWithoutTransaction { _ in whileHeld() } }
        await onThread { hold.waitUntilHeld() }
        #expect(hold.isHeld, "the test thread holds the writer")
        return { hold.release() }
    }

    /// Runs `body` on a task and waits for it up to a minute: nil when it did not finish (it
    /// is waiting for something that does not come).
    private func finishes<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        let result = Mutex<Result<T, any Error>?>(nil)
        Task {
            let r: Result<T, any Error>
            do { r = .success(try await body()) } catch { r = .failure(error) }
            result.withLock { $0 = r }
        }
        for _ in 0..<6000 {
            if let r = result.withLock({ $0 }) { return try r.get() }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    @Test func getsAndSearchesDoNotWaitForTheWriter() async throws {
        let (store, clock, _) = try makeStore()
        let id = try await store.put(item("harbour lights at night"))
        let release = try await holdWriter(store)
        // With the writer held (a merge's transaction, say), both answer, reinforced.
        let hits = try await finishes { try await store.search(FTSQuery("harbour"), filter: .init(), limit: 5) }
        let got = try await finishes { try await store.get(id: id) }
        release()
        #expect(hits?.map(\.item.id) == [id])
        #expect(got?.0.accessCount == 2)
        #expect(got?.0.lastAccessedAt == clock.now)
    }

    @Test func notedRetrievalsCountAtOnceAndAreWrittenByTheWriter() async throws {
        let (store, clock, _) = try makeStore()
        let id = try await store.put(item("the lighthouse keeper"))
        let createdAt = try stored(store, id).last
        let release = try await holdWriter(store)
        clock.advance(60)
        _ = try await store.search(FTSQuery("lighthouse"), filter: .init(), limit: 5)
        _ = try await store.search(FTSQuery("lighthouse"), filter: .init(), limit: 5)
        // Not written while the writer is held, but every read sees them.
        #expect(try stored(store, id) == (0, createdAt))
        #expect(try await store.list(.init(), limit: 5).first?.0.accessCount == 2)
        let hit = try await store.search(FTSQuery("lighthouse"), filter: .init(), limit: 5, reinforce: false)
        #expect(hit.first?.item.accessCount == 2)
        #expect(hit.first?.item.lastAccessedAt == clock.now)
        release()
        // The flush writes them once the writer is free; the counts do not change in the replies.
        var waited = 0
        while !store.reinforcements.isEmpty && waited < 6000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(store.reinforcements.isEmpty)
        #expect(try stored(store, id) == (2, clock.now.timeIntervalSince1970))
        #expect(try await store.list(.init(), limit: 5).first?.0.accessCount == 2)
    }

    @Test func aStoreWritesWhatIsNotedAndCountsNotedSinceStay() throws {
        let (store, _, _) = try makeStore()
        let reinforcements = store.reinforcements
        try store.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO items(seq, id, layer, content, created_at, last_accessed_at)
                    VALUES (7, 'a', 'short_term', 'x', 1, 1)
                    """)
        }
        _ = reinforcements.note([(7, "a"), (7, "a")], at: Date(timeIntervalSince1970: 5))
        // A noted retrieval of another item at the same seq (its id differs) replaces the old one.
        _ = reinforcements.note([(8, "gone")], at: Date(timeIntervalSince1970: 5))
        _ = reinforcements.note([(8, "b")], at: Date(timeIntervalSince1970: 6))
        #expect(reinforcements.pending(8) == .init(id: "b", count: 1, last: 6))
        let written = try store.pool.write { db in try reinforcements.write(db) }
        // Written but not told committed: not empty yet.
        #expect(!reinforcements.isEmpty)
        reinforcements.committed(written)
        // One more after the write stays noted for the next.
        _ = reinforcements.note([(7, "a")], at: Date(timeIntervalSince1970: 9))
        #expect(written?.epoch == 1)
        #expect(try stored(store, "a") == (2, 5))
        #expect(reinforcements.pending(7) == .init(id: "a", count: 1, last: 9))
        #expect(reinforcements.pending(8) == nil)
        // A read whose snapshot began before that commit (epoch 0) adds what it wrote too; one
        // after it (epoch 1) only what is still noted: neither loses nor doubles a retrieval.
        #expect(reinforcements.overlay(7, epoch: 0) == .init(id: "a", count: 3, last: 9))
        #expect(reinforcements.overlay(7, epoch: 1) == .init(id: "a", count: 1, last: 9))
        #expect(reinforcements.overlay(8, epoch: 0) == .init(id: "b", count: 1, last: 6))
        #expect(reinforcements.overlay(8, epoch: 1) == nil)
        #expect(try store.pool.read(Reinforcements.epoch) == 1)
    }

    @Test func aReadRightAfterTheCommitThatWroteThemCountsThemOnce() async throws {
        // No background merge: the merge below is the one that writes the retrieval.
        let (store, clock, _) = try makeStore(PendingIndexTests.held())
        let id = try await store.put(item("the lighthouse beam sweeps"))
        let found: Int64? = try await store.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT seq FROM items WHERE id = ?", arguments: [id])
        }
        let seq = try #require(found)
        // Noted without the flush a retrieval schedules: the merge below writes it.
        _ = store.reinforcements.note([(seq, id)], at: clock.now)
        let inWindow = LockedBox<Int?>(nil)
        store.afterMergeCommit.set { [store, inWindow] _ in
            // Between the merge's commit (which wrote the retrieval) and anything after it,
            // on the merge's thread (never a pool thread): a search sees it once.
            waitForTask(timeout: 20) {
                let hits = try? await store.search(FTSQuery("lighthouse"), filter: .init(), limit: 5, reinforce: false)
                inWindow.set(hits?.first?.item.accessCount ?? -1)
            }
        }
        _ = try await onThread { try store.mergePending(limit: 100) }
        store.afterMergeCommit.set(nil)
        #expect(try stored(store, id).count == 1)
        #expect(inWindow.value == 1, "written by the commit and still noted: counted twice")
        let after = try await store.search(FTSQuery("lighthouse"), filter: .init(), limit: 5, reinforce: false)
        #expect(after.first?.item.accessCount == 1)
    }

    @Test func aTransactionThatFailsLeavesThemNoted() async throws {
        var settings = MemorySettings()
        settings.duplicates = .reject
        let (store, _, _) = try makeStore(settings)
        let id = try await store.put(item("tide tables for the harbour this week"))
        let found: Int64? = try await store.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT seq FROM items WHERE id = ?", arguments: [id])
        }
        let seq = try #require(found)
        let release = try await holdWriter(store)
        _ = try await store.get(id: id)
        release()
        // A rejected near-duplicate rolls its transaction back, and what it wrote with it: each
        // retrieval is then in the file or still noted, never both, never neither.
        #expect(await status { _ = try await store.put(item("tide tables for the harbour this week!")) } == 409)
        // Checked with the writer held: the get's flush may be writing them meanwhile, and a
        // transaction in flight has taken them from the noted ones before its commit.
        let hold = try await holdWriter(store)
        #expect(try stored(store, id).count + (store.reinforcements.pending(seq)?.count ?? 0) == 1)
        hold()
        _ = try await store.put(item("something else entirely"))
        #expect(try stored(store, id).count == 1)
        #expect(store.reinforcements.pending(seq) == nil)
    }

    @Test func consolidationSeesRetrievalsNotYetWritten() async throws {
        let (store, _, _) = try makeStore()
        let id = try await store.put(item("a reinforced fact about rivers"))
        let release = try await holdWriter(store)
        for _ in 0..<3 { _ = try await store.get(id: id) }
        release()
        let report = try await store.consolidate()
        #expect(report.promoted == ["short_term->episodic": 1])
        #expect(try stored(store, id).count == 3)
    }

    @Test func aFlushQueuedBehindARestoreWritesNothingNotedBeforeIt() async throws {
        let (store, _, dir) = try makeStore()
        let id = try await store.put(item("snapshot me"))
        let copy = dir + "/copy"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try store.snapshot(into: copy)  // no retrieval in it
        let release = try await holdWriter(store)
        _ = try await store.get(id: id)  // noted; its flush queues on the writer 50 ms later
        // The restore is called at once, before that flush queues (a few ms, typically). Either
        // way round the restored file must not get the retrieval noted before the restore. (This
        // machine runs the flush first and the test passes without the fix; a loaded CI run
        // wrote it into the restored file: aSnapshotHoldsTheRetrievals... saw a count other than 2.)
        let restored = Task.detached { try store.restore(from: copy) }
        try await Task.sleep(for: .milliseconds(200))
        release()
        try await restored.value
        try store.flushReinforcements()
        #expect(try await store.get(id: id).0.accessCount == 1, "the restored file holds no retrieval")
    }

    @Test func aSnapshotHoldsTheRetrievalsAndARestoreForgetsNoted() async throws {
        let (store, _, dir) = try makeStore()
        let id = try await store.put(item("snapshot me"))
        _ = try await store.get(id: id)
        let copy = dir + "/copy"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try store.snapshot(into: copy)
        let release = try await holdWriter(store)
        _ = try await store.get(id: id)
        release()
        try store.restore(from: copy)
        #expect(store.reinforcements.isEmpty)
        let count = try await store.get(id: id).0.accessCount
        #expect(count == 2, "the snapshot's 1 and this get, not the one noted before the restore")
    }
}
