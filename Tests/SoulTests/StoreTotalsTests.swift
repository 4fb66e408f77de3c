import Foundation
import GRDB
import JameyTestKit
import SoulCore
import Testing

@testable import Soul

/// The entity count and mean trust come from a totals row the database's triggers keep, and a
/// write stores only an entity's new links.
@Suite struct StoreTotalsTests {
    /// The count and mean trust computed from every entity.
    private func exact(_ store: SoulStore) throws -> (count: Int, meanTrust: Double) {
        let all = try store.all()
        return (all.count, all.isEmpty ? 0 : all.map(\.trust).reduce(0, +) / Double(all.count))
    }

    private func expectSummary(_ store: SoulStore, _ comment: Comment) throws {
        let (count, mean) = try store.summary()
        let (exactCount, exactMean) = try exact(store)
        #expect(count == exactCount, comment)
        #expect(abs(mean - exactMean) < 1e-9, comment)
    }

    @Test func theTotalsFollowEveryKindOfWrite() throws {
        let store = try SoulStore(directory: try TemporaryDirectory.make(prefix: "jamey-soul-totals"))
        #expect(try store.summary() == (0, 0))
        let now = Date()
        for i in 0..<60 {
            _ = try store.modify("entity \(i)", create: true, at: now) { e in
                try e.setTrust(Double(i * 37 % 100) / 100, at: now)
            }
        }
        try expectSummary(store, "after creating")
        for i in stride(from: 0, to: 60, by: 3) {
            _ = try store.modify("entity \(i)", create: true, at: now) { e in e.recordEmotion(.paternalLove, at: now) }
        }
        try expectSummary(store, "after updating existing entities (upserts)")
        for i in stride(from: 1, to: 60, by: 4) { #expect(try store.delete(named: "entity \(i)")) }
        try expectSummary(store, "after deleting")
        _ = try store.decayAll(at: now.addingTimeInterval(30 * 86_400))
        try expectSummary(store, "after decaying")
        for i in 0..<60 { _ = try store.delete(named: "entity \(i)") }
        #expect(try store.summary() == (0, 0))
    }

    @Test func aDatabaseFromBeforeTheTotalsGetsThemWhenOpened() throws {
        let directory = try TemporaryDirectory.make(prefix: "jamey-soul-v1")
        let path = directory + "/" + SoulStore.fileName
        let queue = try DatabaseQueue(path: path)
        try SoulStore.migrator.migrate(queue, upTo: "v1-soul")
        try queue.write { db in
            for (name, trust) in [("ada", 0.9), ("bo", 0.3), ("cy", 0.6)] {
                try db.execute(
                    sql: """
                        INSERT INTO soul_entities (name, trust, decay_rate, created_at, last_interaction, last_decayed_at)
                        VALUES (?, ?, 0.01, 0, 0, 0)
                        """, arguments: [name, trust])
            }
        }
        try queue.close()
        let store = try SoulStore(directory: directory)
        let (count, mean) = try store.summary()
        #expect(count == 3)
        #expect(abs(mean - 0.6) < 1e-9)
    }

    @Test func linksAddedOneAtATimeAreAllKeptInOrder() throws {
        let directory = try TemporaryDirectory.make(prefix: "jamey-soul-links")
        let store = try SoulStore(directory: directory)
        let now = Date()
        _ = try store.modify("ada", create: true, at: now) { _ in }
        for id in ["m1", "m2", "m1", "m3"] { _ = try store.modify("ada", create: false, at: now) { e in try e.link(memory: id) } }
        _ = try store.modify("ada", create: false, at: now) { e in e.recordEmotion(.joy, at: now) }
        #expect(try store.entity(named: "ada")?.linkedMemories == ["m1", "m2", "m3"])
        let rows = try DatabaseQueue(path: directory + "/" + SoulStore.fileName).read {
            try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM soul_memory_links WHERE entity = 'ada'")
        }
        #expect(rows == 3)
    }
}
