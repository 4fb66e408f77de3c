import Foundation
import GRDB
import JameyTestKit
import MemoryCore
import Testing

@testable import MemoryPlugin

/// The outbox at the store: events are rows committed with their change, published oldest first,
/// kept when a publish fails, bounded, read back after reopening, and numbered past a restore.
@Suite struct OutboxStoreTests {
    /// A publisher that records what it published and fails while `refusing` is set.
    final class Bus: Sendable {
        private let state = LockedBox<(published: [Outbox.Entry], refusing: Bool)>(([], false))
        var published: [Outbox.Entry] { state.value.published }
        var refusing: Bool {
            get { state.value.refusing }
            set { state.withLock { $0.refusing = newValue } }
        }
        func publish(_ entry: Outbox.Entry) throws {
            try state.withLock {
                if $0.refusing { throw TestError("refused") }
                $0.published.append(entry)
            }
        }
        @discardableResult
        func drain(_ store: MemoryStore) -> Bool { store.outbox.drain(read: store.outboxRows, publish: publish) }
    }

    static func rows(_ store: MemoryStore) async throws -> [Int64] {
        try await store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM outbox ORDER BY seq") }
    }

    static func storedIDs(_ entries: [Outbox.Entry]) -> [String] {
        entries.filter { $0.topic == "memory.events.item.stored" }.compactMap {
            MemoryKernel.object(String(decoding: $0.published, as: UTF8.self))["id"] as? String
        }
    }

    @Test func eventsCommitWithTheirChangeAndArePublishedOnceInOrder() async throws {
        // No background merge: its commits (without events) delete published rows whenever they
        // land, and the row counts below would depend on when that is (under a loaded full suite
        // this test took a minute and a merge fell between the drain and the count).
        var settings = MemorySettings()
        settings.backgroundMerge = false
        let (store, _, _) = try makeStore(settings)
        let bus = Bus()
        let events = ItemEvents()
        let a = try await store.store([item("alpha outbox note")], events: events)[0].item.id
        let b = try await store.store([item("beta outbox note"), item("gamma outbox thing")], events: events).map(\.item.id)
        #expect(try await Self.rows(store).count == 3)
        #expect(store.outbox.depth == 3)
        #expect(bus.drain(store))
        #expect(Self.storedIDs(bus.published) == [a] + b)
        #expect(bus.published.map(\.seq) == bus.published.map(\.seq).sorted())
        let first = try #require(bus.published.first)
        let body = MemoryKernel.object(String(decoding: first.published, as: UTF8.self))
        #expect(body["event_id"] as? Int == Int(first.seq))
        #expect(body["layer"] as? String == "short_term")
        #expect(store.outbox.depth == 0)
        // A second drain publishes nothing again. Published rows are deleted in batches (a write
        // once 128 wait, or the maintenance task's write without events), the numbering goes on.
        #expect(bus.drain(store))
        #expect(bus.published.count == 3)
        _ = try await store.delete(id: a, events: events)
        #expect(try await Self.rows(store).count == 4)
        #expect(bus.drain(store))
        #expect(bus.published.last?.topic == "memory.events.item.deleted")
        try await store.deletePublishedEvents()
        #expect(try await Self.rows(store).isEmpty)
        _ = try await store.put(item("delta outbox entry"), events)
        #expect(bus.drain(store))
        #expect(bus.published.map(\.seq) == [1, 2, 3, 4, 5])
        for i in 0..<130 { _ = try await store.put(item("batch deletion note \(i) word\(i * 11)"), events) }
        #expect(bus.drain(store))
        _ = try await store.put(item("the write that deletes a batch"), events)
        #expect(try await Self.rows(store).count < 10)
    }

    /// A batch of at least ``Outbox/rawRows`` items writes its events through a statement of its
    /// own (``RawStatement``), a smaller one through GRDB's: both give the same rows, numbered on
    /// from each other, each event's payload its own item's.
    @Test func aLargeBatchsEventsAreWrittenAsASmallOnesAre() async throws {
        var settings = MemorySettings()
        settings.backgroundMerge = false
        let (store, _, _) = try makeStore(settings)
        let bus = Bus()
        let events = ItemEvents()
        let small = try await store.store((0..<3).map { item("small batch note \($0)") }, events: events).map(\.item)
        let large = try await store.store(
            (0..<(Outbox.rawRows + 8)).map { item("large batch note \($0) word\($0 * 7)", .episodic) }, events: events
        ).map(\.item)
        let more = try await store.store([item("after the large batch")], events: events).map(\.item)
        let stored = small + large + more
        #expect(try await Self.rows(store).count == stored.count)
        #expect(bus.drain(store))
        #expect(bus.published.map(\.seq) == (1...Int64(stored.count)).map { $0 })
        #expect(Self.storedIDs(bus.published) == stored.map(\.id))
        for (entry, item) in zip(bus.published, stored) {
            let body = MemoryKernel.object(String(decoding: entry.published, as: UTF8.self))
            #expect(body["id"] as? String == item.id)
            #expect(body["layer"] as? String == item.layer.name)
            #expect(body["source"] as? String == item.source)
            #expect(body["event_id"] as? Int == Int(entry.seq))
        }
    }

    /// A subscriber whose handler stores into memory and waits for the answer (a direct
    /// subscriber making a synchronous request does exactly this) runs inside a drain; the store
    /// it causes drains too, on another thread. That drain must not wait for the first (which
    /// waits for it): it leaves its event to the running drain, which publishes it next.
    @Test func aStoreMadeFromInsideAPublishNeitherDeadlocksNorLosesItsEvent() async throws {
        let (store, _, _) = try makeStore()
        let events = ItemEvents()
        let first = try await store.put(item("first outbox note"), events)
        let nested = LockedBox<String?>(nil)
        let published = LockedBox<[Outbox.Entry]>([])
        let outcome = try await onThread { () throws -> (finished: Bool, drained: Bool) in
            var finished = true
            let drained = store.outbox.drain(read: store.outboxRows) { entry in
                published.withLock { $0.append(entry) }
                guard nested.value == nil else { return }
                nested.withLock { $0 = "pending" }
                let done = DispatchSemaphore(value: 0)
                Task.detached {
                    let id = try? await store.put(item("nested outbox thing"), ItemEvents())
                    nested.withLock { $0 = id }
                    store.outbox.drain(read: store.outboxRows) { entry in published.withLock { $0.append(entry) } }
                    done.signal()
                }
                finished = done.wait(timeout: .now() + 20) == .success
            }
            return (finished, drained)
        }
        #expect(outcome.finished, "the nested store's drain waited for the drain that waited for it")
        #expect(outcome.drained)
        let second = try #require(nested.value)
        #expect(Self.storedIDs(published.value) == [first, second], "published once each, in commit order")
    }

    @Test func aRefusedPublishKeepsTheRestForTheNextDrainBeforeNewerEvents() async throws {
        let (store, _, _) = try makeStore()
        let bus = Bus()
        let events = ItemEvents()
        var ids: [String] = []
        for i in 0..<3 { ids.append(try await store.put(item("refused note \(i) word\(i * 31)"), events)) }
        bus.refusing = true
        #expect(!bus.drain(store))
        #expect(store.outbox.depth == 3)
        ids.append(try await store.put(item("newer note after the refusal"), events))
        #expect(try await Self.rows(store).count == 4)
        bus.refusing = false
        #expect(bus.drain(store))
        #expect(Self.storedIDs(bus.published) == ids)
        #expect(store.outbox.depth == 0)
    }

    @Test func whatIsLeftIsPublishedAfterReopeningOldestFirstAndTheSequenceGoesOn() async throws {
        var settings = MemorySettings()
        settings.backgroundMerge = false
        let (store, clock, dir) = try makeStore(settings)
        let events = ItemEvents()
        var ids: [String] = []
        for i in 0..<5 { ids.append(try await store.put(item("left over note \(i) word\(i * 17)"), events)) }
        // Never published: as if the process died after the commits.
        let reopened = try MemoryStore(path: dir + "/memory.sqlite", settings: settings, clock: clock.closure)
        #expect(reopened.outbox.depth == 5)
        ids.append(try await reopened.put(item("stored after reopening"), events))
        let bus = Bus()
        #expect(bus.drain(reopened))
        #expect(Self.storedIDs(bus.published) == ids)
        #expect(bus.published.map(\.seq) == Array(1...6))
        _ = store
    }

    @Test func theOutboxIsBoundedAndCountsWhatItDropped() async throws {
        var settings = MemorySettings()
        settings.maxOutbox = 4
        let (store, _, _) = try makeStore(settings)
        let events = ItemEvents()
        var ids: [String] = []
        for i in 0..<7 { ids.append(try await store.put(item("bounded note \(i) word\(i * 13)"), events)) }
        #expect(try await Self.rows(store).count == 4)
        #expect(store.outbox.depth == 4)
        #expect(store.outbox.dropped == 3)
        let bus = Bus()
        #expect(bus.drain(store))
        #expect(Self.storedIDs(bus.published) == Array(ids.suffix(4)))
    }

    @Test func aRestoreDiscardsTheRestoredRowsAndNumbersPastEverythingBefore() async throws {
        let (store, _, dir) = try makeStore()
        let events = ItemEvents()
        let bus = Bus()
        let (snapshot, highest) = try await Self.snapshotOneThenStoreThree(store, dir, events, bus)
        try store.restore(from: snapshot)
        #expect(try await Self.rows(store).isEmpty)
        #expect(store.outbox.depth == 0)
        try await Self.expectNumberingGoesOn(store, events, bus, past: highest)
    }

    /// Stores one item, snapshots the store into `dir/snapshot`, stores three more and publishes
    /// all four events.
    /// - Returns: the snapshot's directory and the highest `event_id` handed out.
    static func snapshotOneThenStoreThree(
        _ store: MemoryStore, _ dir: String, _ events: ItemEvents, _ bus: Bus
    ) async throws -> (snapshot: String, highest: Int64) {
        _ = try await store.put(item("in the snapshot's outbox"), events)
        let snapshot = dir + "/snapshot"
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        try store.snapshot(into: snapshot)
        for i in 0..<3 { _ = try await store.put(item("after the snapshot \(i) word\(i * 7)"), events) }
        #expect(bus.drain(store))
        return (snapshot, try #require(bus.published.last?.seq))
    }

    /// After a restore, a new item's event is the only one published next, numbered past
    /// `highest`.
    static func expectNumberingGoesOn(_ store: MemoryStore, _ events: ItemEvents, _ bus: Bus, past highest: Int64)
        async throws
    {
        let after = try await store.put(item("stored after the restore"), events)
        #expect(bus.drain(store))
        #expect(storedIDs(Array(bus.published.dropFirst(4))) == [after])
        #expect(try #require(bus.published.last?.seq) > highest)
    }

    /// What a `kill -9` right after a restore's swap leaves: the file must already hold no row of
    /// the snapshot's outbox (the next start would publish them again) and a sequence past every
    /// `event_id` handed out before (the next start would hand them out again). The restore
    /// used to make those changes in a second transaction after the swap.
    @Test func aRestoreSwapsInTheOutboxsFixUpInTheSameStep() async throws {
        var settings = MemorySettings()
        settings.backgroundMerge = false
        let (store, _, dir) = try makeStore(settings)
        let path = dir + "/memory.sqlite"
        let events = ItemEvents()
        let bus = Bus()
        let (snapshot, highest) = try await Self.snapshotOneThenStoreThree(store, dir, events, bus)
        let onDisk = LockedBox<(rows: Int, high: Int64)?>(nil)
        store.restoreSwapped.set { _ in
            var configuration = Configuration()
            configuration.readonly = true
            let file = try? DatabaseQueue(path: path, configuration: configuration)
            let seen = try? file?.read { db in
                (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? -1, try Outbox.highWater(db))
            }
            onDisk.withLock { $0 = seen }
        }
        try store.restore(from: snapshot)
        let seen = try #require(onDisk.value, "the file could not be read right after the swap")
        #expect(seen.rows == 0, "the snapshot's outbox rows would be published again after a crash here")
        #expect(
            seen.high >= highest, "event_ids up to \(highest) were handed out; a crash here would reuse them from \(seen.high)")
        // And the restored store goes on from there.
        try await Self.expectNumberingGoesOn(store, events, bus, past: highest)
        #expect(
            !FileManager.default.fileExists(atPath: dir + "/.memory.sqlite.restoring"),
            "the prepared copy is removed")
    }
}

extension MemoryStore {
    /// Stores one item, recording its events, and returns its id.
    func put(_ new: NewItem, _ events: ItemEvents) async throws -> String { try await store([new], events: events)[0].item.id }
}
