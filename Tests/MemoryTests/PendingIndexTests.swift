import Foundation
import GRDB
import JameyTestKit
import MemoryCore
import Synchronization
import Testing

@testable import MemoryPlugin

/// The pending log: a store commits the item and a row of `items_pending`; the merge puts it in
/// FTS5 and the postings later. Until then a search finds it from the tail in memory; deleting,
/// changing and expiring a pending item work; a store that stopped before the merge (closed or
/// killed) merges when it opens again. These stores hold items pending (no background merge,
/// `duplicates: allow`) and merge by hand.
@Suite struct PendingIndexTests {
    static func held() -> MemorySettings {
        var settings = MemorySettings()
        settings.duplicates = .allow
        settings.backgroundMerge = false
        return settings
    }

    static func pending(_ store: MemoryStore) async throws -> Int {
        try await store.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items_pending") ?? 0 }
    }

    /// Waits up to 60 s for a reopened store's background merge to empty the pending log.
    /// - Returns: the items still pending (0 once the merge finished).
    static func waitForMerge(_ store: MemoryStore) async throws -> Int {
        var left = try await pending(store)
        for _ in 0..<600 where left > 0 {
            try await Task.sleep(for: .milliseconds(100))
            left = try await pending(store)
        }
        return left
    }

    /// Rows of FTS5 itself holding `word`.
    static func indexed(_ store: MemoryStore, _ word: String) async throws -> Int {
        try await store.pool.read {
            try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items_fts WHERE items_fts MATCH ?", arguments: [word]) ?? 0
        }
    }

    /// FTS5's own check that its index matches the items table (only true with nothing pending).
    static func ftsIntact(_ store: MemoryStore) async throws -> Bool {
        do {
            try await store.pool.write { try $0.execute(sql: "INSERT INTO items_fts(items_fts) VALUES ('integrity-check')") }
            return true
        } catch {
            return false
        }
    }

    @Test func searchFindsItemsNotYetMerged() async throws {
        let (store, _, _) = try makeStore(Self.held())
        let old = try await store.put(item("the lighthouse keeper wrote a letter", .longTerm))
        try store.mergePending(limit: 100)
        let new = try await store.put(item("a letter from the lighthouse", .longTerm))
        let other = try await store.put(item("letters and parcels", .longTerm))
        #expect(try await Self.pending(store) == 2)
        #expect(try await Self.indexed(store, "lighthouse") == 1)
        #expect(Set(try await store.ids("lighthouse letter")) == [old, new])
        #expect(Set(try await store.ids("lighthouse parcels", mode: .any)) == [old, new, other])
        #expect(try await store.ids("letter", .init(layers: [.episodic])).isEmpty)
        // Operator syntax cannot be answered from the tail: that search merges first.
        let syntax = try await store.search(
            FTSQuery("lighthous*", syntax: true), filter: .init(), limit: 10, reinforce: false)
        #expect(Set(syntax.map(\.item.id)) == [old, new])
        #expect(try await Self.pending(store) == 0)
        #expect(Set(try await store.ids("lighthouse letter")) == [old, new])
        #expect(try await Self.ftsIntact(store))
    }

    @Test func deletingAndChangingPendingItems() async throws {
        let (store, _, _) = try makeStore(Self.held())
        let a = try await store.put(item("pending apple note", .longTerm))
        let b = try await store.put(item("pending banana note", .longTerm))
        #expect(try await store.delete(id: a))
        _ = try await store.update(id: b, ItemPatch(content: "pending cherry note"))
        #expect(try await store.ids("apple").isEmpty)
        #expect(try await store.ids("banana").isEmpty)
        #expect(try await store.ids("cherry") == [b])
        #expect(try await Self.pending(store) == 1)
        try store.mergePending(limit: 100)
        #expect(try await Self.indexed(store, "cherry") == 1)
        #expect(try await Self.indexed(store, "apple") == 0)
        #expect(try await Self.indexed(store, "banana") == 0)
        #expect(try await Self.ftsIntact(store))
        // A merged item changed: its old words leave FTS5 at once, the new ones are pending.
        _ = try await store.update(id: b, ItemPatch(content: "pending damson note"))
        #expect(try await Self.indexed(store, "cherry") == 0)
        #expect(try await store.ids("cherry").isEmpty)
        #expect(try await store.ids("damson") == [b])
        #expect(try await store.delete(id: b))
        #expect(try await Self.pending(store) == 0)
        #expect(try await store.ids("damson").isEmpty)
        #expect(try await Self.ftsIntact(store))
    }

    @Test func expiredPendingItemsAreNeverReturnedAndNeverIndexed() async throws {
        let (store, clock, _) = try makeStore(Self.held())
        let id = try await store.put(item("fleeting pending thought", .shortTerm))
        #expect(try await store.ids("fleeting") == [id])
        clock.advance(8 * 24 * 3600)
        #expect(try await store.ids("fleeting").isEmpty)
        #expect(try await store.sweep()[.shortTerm] == 1)
        #expect(try await Self.pending(store) == 0)
        try store.mergePending(limit: 100)
        #expect(try await Self.indexed(store, "fleeting") == 0)
        #expect(try await Self.ftsIntact(store))
    }

    /// The near-duplicate check's estimate of the items in FTS5: counted up by each merge, and
    /// FTS5's own total when a store opens (a delete counts only then).
    @Test func theMergesCountTheItemsIndexed() async throws {
        let (store, _, dir) = try makeStore(Self.held())
        #expect(store.frequencies.items == 0)
        var ids: [String] = []
        for i in 0..<7 { ids.append(try await store.put(item("counted item \(i)", .longTerm))) }
        #expect(store.frequencies.items == 0, "pending items are not in FTS5")
        try store.mergePending(limit: 100)
        #expect(store.frequencies.items == 7)
        #expect(try await store.delete(id: ids[0]))
        let reopened = try MemoryStore(path: dir + "/memory.sqlite", settings: Self.held())
        #expect(reopened.frequencies.items == 6)
    }

    @Test func aStoreStoppedBeforeTheMergeMergesWhenItOpensAgain() async throws {
        let (store, _, dir) = try makeStore(Self.held())
        var ids: [String] = []
        for i in 0..<50 { ids.append(try await store.put(item("unmerged item \(i) survives", .longTerm))) }
        #expect(try await Self.pending(store) == 50)
        // The commits are on disk, the merge never ran: what a kill -9 between the two leaves.
        var settings = MemorySettings()
        settings.duplicates = .allow
        let reopened = try MemoryStore(path: dir + "/memory.sqlite", settings: settings)
        #expect(Set(try await reopened.ids("unmerged survives", limit: 100)) == Set(ids))
        #expect(try await Self.waitForMerge(reopened) == 0, "the merge did not resume")
        #expect(try await Self.indexed(reopened, "unmerged") == 50)
        #expect(Set(try await reopened.ids("unmerged survives", limit: 100)) == Set(ids))
        #expect(try await Self.ftsIntact(reopened))
    }

    /// A stop ends the background merge after the batch in progress, however long the backlog:
    /// the rest stays pending for the next start. It merged the whole backlog first (seconds after
    /// a bulk store), and the plugin's stop missed its deadline.
    @Test func aStopEndsTheMergeOfABacklogAfterItsBatch() async throws {
        let (store, _, dir) = try makeStore(Self.held())
        _ = try await store.store((0..<400).map { item("backlog item \($0) waits", .longTerm) })
        var settings = MemorySettings()
        settings.duplicates = .allow
        settings.mergeBatch = 20
        let reopened = try MemoryStore(path: dir + "/memory.sqlite", settings: settings)
        // The merge holds after a batch until the stop has been asked for.
        let merging = DispatchSemaphore(value: 0)
        let stopAsked = DispatchSemaphore(value: 0)
        let first = Atomic<Bool>(true)
        reopened.mergeObserved.set { _ in
            guard first.exchange(false, ordering: .relaxed) else { return }
            merging.signal()
            stopAsked.wait()
        }
        let merger = try #require(reopened.merger.withLock { $0 })
        await onThread {
            merging.wait()
            merger.stop()
            stopAsked.signal()
            merger.stop(wait: true)
        }
        let left = try await Self.pending(reopened)
        #expect(left > 0 && left < 400, "\(left) pending after the stop")
        // The next start merges the rest.
        let again = try MemoryStore(path: dir + "/memory.sqlite", settings: settings)
        #expect(try await Self.waitForMerge(again) == 0)
        #expect(try await Self.indexed(again, "backlog") == 400)
    }

    @Test func anOperatorSearchWaitingToMergeHoldsNoThreadOfThePool() async throws {
        // A prefix search with an item pending merges the backlog first, and that waits for the
        // writer, held here by another transaction. More such searches than the pool has threads
        // must leave the pool free: a plain search, which needs no merge, still answers.
        let (store, _, _) = try makeStore(Self.held())
        let id = try await store.put(item("harbour lights at night", .longTerm))
        // At most 60 s: searches blocking the pool would keep the test from releasing it. (Long,
        // and the wait for the plain search below too: in a full parallel run on two cores other
        // suites' work can hold the pool for seconds; both end as soon as the search answers.)
        let writer = HeldOnThread(timeout: 60) { whileHeld in store.pool.writeWithoutTransaction { _ in whileHeld() } }
        await onThread { writer.waitUntilHeld() }
        let searches = ProcessInfo.processInfo.activeProcessorCount + 2
        let prefixed = Task {
            try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<searches {
                    group.addTask {
                        try await store.search(FTSQuery("harb*", syntax: true), filter: .init(), limit: 5, reinforce: false)
                            .map(\.item.id)
                    }
                }
                return try await group.reduce(into: [[String]]()) { $0.append($1) }
            }
        }
        try await Task.sleep(for: .milliseconds(300))  // the prefix searches wait for the writer
        let plain = LockedBox<(ids: [String], whileHeld: Bool)?>(nil)
        Task {
            let ids = try? await store.search(FTSQuery("harbour"), filter: .init(), limit: 5, reinforce: false)
            plain.set((ids?.map(\.item.id) ?? [], writer.isHeld))
        }
        _ = await eventually(timeout: .seconds(50)) { plain.value != nil }
        writer.release()
        #expect(plain.value?.whileHeld == true, "the plain search answered only once the writer was free")
        #expect(plain.value?.ids == [id])
        let found = try await prefixed.value
        #expect(found.count == searches && found.allSatisfy { $0 == [id] }, "\(found)")
        #expect(try await Self.pending(store) == 0)
    }

    @Test func aStoreFindingTheTailFullMergesABatchFirst() async throws {
        var settings = Self.held()
        settings.maxPending = 10
        settings.mergeBatch = 8
        let (store, _, _) = try makeStore(settings)
        for i in 0..<25 { _ = try await store.put(item("bounded tail item \(i)", .longTerm)) }
        #expect(try await Self.pending(store) <= 10)
        #expect(try await store.ids("bounded tail", limit: 100).count == 25)
    }

    /// FTS5 merges its segments only when the merger asks (migration `v10`, automerge off): each
    /// delete of a merged item leaves a small segment in its own transaction, the merger's
    /// catch-up folds them together, and a search answers the same before and after.
    @Test func theMergerFoldsTheSegmentsDeletesLeave() async throws {
        let (store, _, _) = try makeStore(Self.held())
        let ids = try await store.store((0..<30).map { item("segment probe \($0) word\($0 % 3)", .longTerm) }).map(\.item.id)
        _ = try store.mergePending(limit: 100)
        for id in ids.prefix(12) { #expect(try await store.delete(id: id)) }
        func segments() async throws -> Int {
            try await store.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(DISTINCT segid) FROM items_fts_idx") ?? 0 }
        }
        let automerge = try await store.pool.read {
            try Int.fetchOne($0, sql: "SELECT v FROM items_fts_config WHERE k = 'automerge'")
        }
        #expect(automerge == 0)
        #expect(try await segments() >= 13, "the merge's segment and one per delete")
        let found = try await store.ids("word1", limit: 50)
        #expect(Set(found) == Set(ids.enumerated().filter { $0.offset >= 12 && $0.offset % 3 == 1 }.map(\.element)))
        var steps = 0
        while try store.mergeSegments() { steps += 1 }
        #expect(steps >= 1)
        #expect(try await segments() < 4)
        #expect(try await store.ids("word1", limit: 50) == found)
    }
}

/// Which merged items a search counts in the tail: those its snapshot lacks in FTS5, told by the
/// write epoch, however its run interleaves with the merge.
extension PendingIndexTests {
    @Test func aSearchJustAfterAMergeCommitsCountsItsItemsOnce() async throws {
        // A search whose snapshot has a merge's items in FTS5 must not count them in the tail
        // too, even when it runs before the merge's bookkeeping in memory (the hook).
        let (store, _, _) = try makeStore(Self.held())
        for i in 0..<30 { _ = try await store.put(item("river crossing number \(i) at the ford", .longTerm)) }
        try store.mergePending(limit: 1000)
        for i in 0..<20 { _ = try await store.put(item("three stones \(i) in the river", .longTerm)) }
        let id = try await store.put(item("three herons by the river", .longTerm))
        let inWindow = LockedBox<[SearchHit]>([])
        store.afterMergeCommit.set { [store, inWindow] _ in
            // Blocks the merge's thread (never a pool thread: see below) until the search ran.
            waitForTask {
                let hits = try? await store.search(FTSQuery("three"), filter: .init(), limit: 50, reinforce: false)
                inWindow.set(hits ?? [])
            }
        }
        // On a thread of its own: the hook blocks it until a task on the pool has searched, and
        // a blocked pool thread could leave that task no thread to run on.
        _ = try await onThread { try store.mergePending(limit: 20) }  // the stones, not the herons
        store.afterMergeCommit.set(nil)
        #expect(try await Self.pending(store) == 1)
        let window = try #require(inWindow.value.first { $0.item.id == id })
        try store.mergePending(limit: 1000)
        let merged = try #require(
            try await store.search(FTSQuery("three"), filter: .init(), limit: 50, reinforce: false).first { $0.item.id == id })
        #expect(
            abs(window.bm25 - merged.bm25) <= 1e-12 * abs(merged.bm25), "\(window.bm25) in the window against \(merged.bm25)")
    }

    @Test func anOperatorSearchBetweenAMergesRetiringAndItsCommitFindsTheItems() async throws {
        // A merge retires its items from the tail inside its transaction: a prefix search begun
        // then sees no item pending, and its snapshot lacks them in FTS5. It must merge (wait for
        // the commit) and read again, not answer without them.
        let (store, _, _) = try makeStore(Self.held())
        let ids = [
            try await store.put(item("glass harbour floats", .longTerm)),
            try await store.put(item("a glade by the harbour", .longTerm)),
        ]
        let inWindow = LockedBox<[String]?>(nil)
        store.beforeMergeCommit.set { [store, inWindow] _ in
            // Blocks the merge's thread (never a pool thread) until the search answered, or
            // 2 s: a search that waits for this commit, as it must, answers only after it.
            waitForTask(timeout: 2) {
                let hits = try? await store.search(
                    FTSQuery("gla*", syntax: true), filter: .init(), limit: 10, reinforce: false)
                inWindow.set(hits?.map(\.item.id) ?? [])
            }
        }
        _ = try await onThread { try store.mergePending(limit: 100) }
        store.beforeMergeCommit.set(nil)
        _ = await eventually(timeout: .seconds(50)) { inWindow.value != nil }
        #expect(Set(inWindow.value ?? []) == Set(ids), "a search begun before the merge's commit")
    }

    @Test func aSearchThatOutlastsTheRetireDelayStillFindsItemsMergedWhileItRead() async throws {
        // A merge commits while a search reads, and the purge runs as if ``retireDelay`` had
        // passed (a search that FTS5 takes seconds over): the search's snapshot lacks the items in
        // FTS5, so it must still find them in the tail. Before readers were noted, the purge took
        // them and the search answered without them.
        let (store, _, _) = try makeStore(Self.held())
        let id = try await store.put(item("three herons by the harbour", .longTerm))
        store.duringSearch.set { [store] _ in
            store.duringSearch.set(nil)
            // On threads of their own: the search holds this one, in its read transaction.
            let done = DispatchSemaphore(value: 0)
            Thread {
                _ = try? store.mergePending(limit: 100)
                _ = store.tail.purgeStep(before: ContinuousClock.now + .seconds(60), limit: 1000)
                done.signal()
            }.start()
            done.wait()
        }
        let hits = try await store.search(FTSQuery("herons"), filter: .init(), limit: 10, reinforce: false)
        #expect(hits.map(\.item.id) == [id])
        #expect(try await Self.pending(store) == 0, "merged while the search read")
        // Once it ended, the purge takes them.
        _ = store.tail.purgeStep(before: ContinuousClock.now + .seconds(60), limit: 1000)
        #expect(store.tail.held == 0)
        #expect(try await store.ids("herons") == [id], "from FTS5 now")
    }

    @Test func aRetiredItemLeavesTheSnapshotsAtItsEpochOnlyAndARollbackRestoresIt() {
        let tail = PendingTail()
        tail.add(seq: 1, content: "three herons")
        tail.add(seq: 2, content: "three stones here")
        tail.retire([1], epoch: 5)
        let before = tail.matches(["three"], all: false, epoch: 4)
        #expect(Set(before.seqs) == [1, 2] && before.rows == 2 && before.tokens == 5 && before.hits == [2])
        let after = tail.matches(["three"], all: false, epoch: 5)
        #expect(after.seqs == [2] && after.rows == 1 && after.tokens == 3 && after.hits == [1])
        #expect(tail.count == 1)
        // The merge's transaction did not commit: pending again, for every snapshot.
        tail.restore(epoch: 5)
        let restored = tail.matches(["three"], all: false, epoch: 5)
        #expect(Set(restored.seqs) == [1, 2] && restored.rows == 2 && restored.tokens == 5 && restored.hits == [2])
        #expect(tail.count == 2)
    }

    /// A search reading at an epoch before a merge's counts the merge's items from the tail, its
    /// snapshot lacking them in FTS5: however long it reads (an AND of two common words that
    /// FTS5 scores for seconds), they stay until it ends, in steps or at once.
    @Test func retiredItemsStayWhileASearchAtAnEarlierEpochReads() {
        for pendingBesides in [false, true] {
            let tail = PendingTail()
            for seq in Int64(1)...20 { tail.add(seq: seq, content: "three herons") }
            if pendingBesides { for seq in Int64(21)...40 { tail.add(seq: seq, content: "three pending") } }
            tail.beginRead(epoch: 4)
            tail.beginRead(epoch: 6)
            tail.retire(Array(1...20), epoch: 5)
            let long = ContinuousClock.now + .seconds(60)  // far past retireDelay
            #expect(!tail.purgeStep(before: long, limit: 100), "nothing may go yet")
            #expect(tail.matches(["three"], all: false, epoch: 4).seqs.count == (pendingBesides ? 40 : 20))
            tail.beginRead(epoch: 4)
            tail.endRead(epoch: 4)
            #expect(!tail.purgeStep(before: long, limit: 100), "the first reader at 4 still reads")
            #expect(tail.held == (pendingBesides ? 40 : 20))
            tail.endRead(epoch: 4)
            // The reader at 6 has them in FTS5: it does not hold them here.
            while tail.purgeStep(before: long, limit: 100) {}
            #expect(tail.held == (pendingBesides ? 20 : 0), "pending besides: \(pendingBesides)")
            #expect(tail.matches(["three"], all: false, epoch: 6).seqs.count == (pendingBesides ? 20 : 0))
            tail.endRead(epoch: 6)
        }
    }

    /// A merge's batch is removed in steps (``PendingTail/purgeChunk`` at a time, so stores and
    /// searches wait for a step, not the batch): between steps every snapshot still counts each
    /// item once, the removed ones nowhere and the rest as before.
    @Test func aBatchRemovedInStepsKeepsEverySnapshotsCounts() {
        let tail = PendingTail()
        for seq in Int64(1)...250 { tail.add(seq: seq, content: seq % 2 == 0 ? "three herons" : "three stones here") }
        // Enough pending items that the retired ones are removed in steps, not all at once.
        for seq in Int64(251)...320 { tail.add(seq: seq, content: "three pending") }
        tail.retire(Array(1...250), epoch: 5)
        let pending = Set(Int64(251)...320)
        let later = tail.matches(["three"], all: false, epoch: 5)
        #expect(Set(later.seqs) == pending && later.rows == 70 && later.tokens == 140 && later.hits == [70])
        let cutoff = ContinuousClock.now + .seconds(1)
        var steps = 0
        while tail.purgeStep(before: cutoff, limit: 100) {
            steps += 1
            let after = tail.matches(["three"], all: false, epoch: 5)
            #expect(
                Set(after.seqs) == pending && after.rows == 70 && after.tokens == 140 && after.hits == [70], "step \(steps)")
            #expect(tail.held == 320 - 100 * steps)
        }
        #expect(steps == 2 && tail.held == 70 && tail.count == 70)
        // An older snapshot (before the merge) would count them; none is left after retireDelay.
        #expect(tail.matches(["three"], all: false, epoch: 4).rows == 70)
    }

    /// With few items pending besides the retired ones, and every batch due, one step replaces
    /// the tail with the pending items alone: the state the steps would reach. While a batch is
    /// not yet due, the due ones are removed in steps.
    @Test func aMostlyRetiredTailIsRebuiltFromItsPendingItemsAtOnce() {
        func filled() -> PendingTail {
            let tail = PendingTail()
            for seq in Int64(1)...250 { tail.add(seq: seq, content: "three stones here") }
            for seq in Int64(251)...260 { tail.add(seq: seq, content: "three pending herons") }
            tail.retire(Array(1...200), epoch: 5)
            tail.retire(Array(201...250), epoch: 6)
            // Item 7 is pending again (its text changed before the merge committed).
            tail.add(seq: 7, content: "herons again")
            return tail
        }
        let tail = filled()
        #expect(tail.purgeStep(before: ContinuousClock.now + .seconds(1), limit: 10) == false, "one step, whatever the limit")
        #expect(tail.held == 11 && tail.count == 11)
        let pending = Set([Int64(7)] + Array(251...260))
        let after = tail.matches(["three", "herons"], all: false, epoch: 6)
        #expect(Set(after.seqs) == pending && after.rows == 11 && after.tokens == 32 && after.hits == [10, 11])
        #expect(tail.read { $0.postingEntries } == 32)
        // Later items are added and retired as usual.
        tail.add(seq: 261, content: "three more")
        tail.retire([261], epoch: 7)
        #expect(tail.matches(["three"], all: false, epoch: 7).rows == 11)

        // A batch retired after the cutoff (under 8) is not due: the due ones go in steps of the
        // limit (199 items under 5, item 7 no longer among them, and 50 under 6).
        let partly = filled()
        let cutoff = ContinuousClock.now
        partly.retire([251], epoch: 8)
        var steps = 0
        while partly.purgeStep(before: cutoff, limit: 100) { steps += 1 }
        #expect(steps == 2 && partly.held == 11 && partly.count == 10)
    }

    @Test func aSnapshotLacksInFTS5TheItemsNotRetiredAtItsEpoch() {
        let tail = PendingTail()
        #expect(!tail.unmerged(at: 0))
        tail.add(seq: 1, content: "three herons")
        #expect(tail.unmerged(at: 9))
        tail.retire([1], epoch: 5)
        #expect(tail.unmerged(at: 4) && !tail.unmerged(at: 5), "retired under 5: in FTS5 for snapshots at 5")
        tail.restore(epoch: 5)
        #expect(tail.unmerged(at: 5))
    }
}
