import Foundation
import GRDB
import MemoryCore
import Testing

@testable import MemoryPlugin

/// TTL, capacity and sweeping per layer, with an injected clock.
@Suite struct RetentionTests {
    @Test func expiredItemsAreNeverReturnedEvenBeforeASweep() async throws {
        let (store, clock, _) = try makeStore()
        let working = try await store.put(item("scratch thought", .working))  // TTL 1 h
        let short = try await store.put(item("scratch errand", .shortTerm))  // TTL 7 d
        let pinned = try await store.put(item("scratch but pinned", .shortTerm, pinned: true))
        let kept = try await store.put(item("scratch forever", .longTerm))
        clock.advance(3601)
        #expect(Set(try await store.ids("scratch")) == [short, pinned, kept])
        #expect(await status { _ = try await store.get(id: working) } == 404)
        clock.advance(7 * 86_400)
        #expect(Set(try await store.ids("scratch")) == [pinned, kept])
        #expect(Set(try await store.list(.init(), limit: 10).map(\.0.id)) == [pinned, kept])
        #expect(await status { _ = try await store.update(id: short, ItemPatch(importance: 1)) } == 404)
        let swept = try await store.sweep()
        #expect(swept == [.working: 1, .shortTerm: 1])
        #expect(try await store.sweep().isEmpty)
    }

    /// A sweep deletes in transactions of `sweepPiece` items (a node back after days off does not
    /// hold the writer for all of them at once) and still deletes and counts every expired item,
    /// with one event each.
    @Test func aSweepInPiecesDeletesAndCountsEveryExpiredItem() async throws {
        var settings = MemorySettings()
        settings.duplicates = .allow
        settings.sweepPiece = 2
        let (store, clock, _) = try makeStore(settings)
        for i in 0..<5 { _ = try await store.put(item("scratch errand \(i)", .working)) }
        let kept = try await store.put(item("scratch forever", .longTerm))
        clock.advance(3601)
        let events = ItemEvents()
        #expect(try await store.sweep(events: events) == [.working: 5])
        #expect(events.count == 5)
        #expect(try await store.list(.init(), limit: 10).map(\.0.id) == [kept])
        #expect(try await store.sweep().isEmpty)
    }

    @Test func fullLayerDropsItsOldestUnpinnedItems() async throws {
        var settings = MemorySettings()
        settings.duplicates = .allow
        settings.retention.policies[.shortTerm]?.capacity = 3
        let (store, clock, _) = try makeStore(settings)
        let pinned = try await store.put(item("note zero", pinned: true))
        var ids: [String] = []
        for i in 1...4 {
            clock.advance(1)
            ids.append(try await store.put(item("note \(i)")))
        }
        let left = try await store.list(.init(layers: [.shortTerm]), limit: 10).map(\.0.id)
        #expect(left == [ids[3], ids[2], pinned])
        let working = try await store.store((0..<70).map { item("working item number \($0)", .working) })
        #expect(working.count == 70)
        #expect(try await store.list(.init(layers: [.working]), limit: 100).count == 64)
    }

    /// The capacity counts the layer's items through every path that changes them (the count is
    /// kept by triggers, not taken per store): a move into a full layer evicts its oldest, a delete
    /// leaves room for one more store, a move out leaves room for another, and a batch past the
    /// capacity keeps its newest.
    @Test func capacityHoldsThroughMovesDeletesAndBatches() async throws {
        var settings = MemorySettings()
        settings.duplicates = .allow
        settings.retention.policies[.shortTerm]?.capacity = 3
        let (store, clock, _) = try makeStore(settings)
        func shortTerm() async throws -> [String] {
            try await store.list(.init(layers: [.shortTerm]), limit: 10).map(\.0.id).reversed()
        }
        var ids: [String] = []
        for i in 0..<3 {
            clock.advance(1)
            ids.append(try await store.put(item("errand \(i)")))
        }
        clock.advance(1)
        let fact = try await store.put(item("a fact moved later", .longTerm))
        _ = try await store.update(id: fact, ItemPatch(layer: .shortTerm))
        #expect(try await shortTerm() == [ids[1], ids[2], fact])
        #expect(try await store.delete(id: ids[1]))
        clock.advance(1)
        let next = try await store.put(item("errand after the delete"))
        #expect(try await shortTerm() == [ids[2], fact, next])
        _ = try await store.update(id: ids[2], ItemPatch(layer: .episodic))
        clock.advance(1)
        let another = try await store.put(item("errand after the move out"))
        #expect(try await shortTerm() == [fact, next, another])
        clock.advance(1)
        let batch = try await store.store((0..<5).map { item("batched errand \($0)") }).map(\.item.id)
        #expect(Set(try await shortTerm()) == Set(batch.suffix(3)))
        #expect(try await store.counts()[.shortTerm]?.items == 3)
    }

    /// Property: through random stores, reads and clock moves, no read ever returns an item whose
    /// expiry has passed on the injected clock.
    @Test func propertyExpiredItemsAreNeverReturned() async throws {
        var settings = MemorySettings()
        settings.duplicates = .allow
        settings.retention.policies[.working]?.ttlSeconds = 50
        settings.retention.policies[.shortTerm]?.ttlSeconds = 200
        settings.retention.policies[.episodic]?.ttlSeconds = 500
        let (store, clock, _) = try makeStore(settings)
        var rng = SystemRandomNumberGenerator()
        var ids: [String] = []
        for step in 0..<150 {
            let layer = [MemoryLayer.working, .shortTerm, .episodic, .longTerm].randomElement(using: &rng) ?? .working
            ids.append(
                try await store.put(item("probe word \(step)", layer, pinned: layer != .working && Bool.random(using: &rng))))
            clock.advance(Double.random(in: 0...30, using: &rng))
            if step % 10 == 0 {
                let now = clock.now
                let listed = try await store.list(.init(), limit: 1000).map(\.0)
                let found = try await store.search(try FTSQuery("probe"), filter: .init(), limit: 1000).map(\.item)
                for seen in listed + found {
                    #expect(Retention.isVisible(seen, at: now), "\(seen.id) expired at \(String(describing: seen.expiresAt))")
                }
                if let id = ids.randomElement(using: &rng) {
                    if let (got, _) = try? await store.get(id: id) { #expect(Retention.isVisible(got, at: now)) }
                }
                if step % 30 == 0 { _ = try await store.sweep() }
            }
        }
    }

    /// The counts per layer (health and the gauges) come from `layer_stats`, kept by the store and by triggers:
    /// after stores, a batch, a content change, a move to another layer, a delete, items expiring
    /// and a sweep, they equal a pass over the visible items.
    @Test func countsPerLayerFollowEveryChange() async throws {
        var settings = MemorySettings()
        settings.duplicates = .allow
        let (store, clock, _) = try makeStore(settings)
        func expectCountsMatchAPass(_ step: String) async throws {
            let now = clock.now.timeIntervalSince1970
            let pass = try store.pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT layer, COUNT(*) AS n, SUM(LENGTH(CAST(content AS BLOB))) AS bytes FROM items
                        WHERE expires_at IS NULL OR expires_at > ? GROUP BY layer
                        """, arguments: [now])
            }
            var expected: [MemoryLayer: (items: Int, bytes: Int)] = [:]
            for layer in MemoryLayer.all { expected[layer] = (0, 0) }
            for row in pass { expected[MemoryLayer(name: row["layer"])!] = (row["n"], row["bytes"]) }
            let counts = try await store.counts()
            for layer in MemoryLayer.all {
                #expect(counts[layer]?.items == expected[layer]?.items, "\(step): \(layer.name)")
                #expect(counts[layer]?.bytes == expected[layer]?.bytes, "\(step): \(layer.name)")
            }
        }
        let working = try await store.put(item("a passing thought", .working))
        let errand = try await store.put(item("buy bread and milk", .shortTerm))
        _ = try await store.store((0..<5).map { item("fact number \($0) with ünïcode", .semantic) })
        try await expectCountsMatchAPass("stores")
        #expect(try await store.counts()[.semantic]?.items == 5)
        _ = try await store.update(id: errand, ItemPatch(content: "buy bread, milk and a much longer list of things"))
        try await expectCountsMatchAPass("content changed")
        _ = try await store.update(id: errand, ItemPatch(layer: .longTerm))
        try await expectCountsMatchAPass("moved")
        #expect(try await store.delete(id: errand))
        try await expectCountsMatchAPass("deleted")
        clock.advance(3601)  // the working item expires (TTL 1 h), not yet swept
        try await expectCountsMatchAPass("expired")
        #expect(try await store.counts()[.working]?.items == 0)
        _ = try await store.sweep()
        try await expectCountsMatchAPass("swept")
        #expect(await status { _ = try await store.get(id: working) } == 404)
    }
}
