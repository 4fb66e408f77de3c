import Foundation
import GRDB
import JameyTestKit
import MemoryCore
import Testing

@testable import MemoryPlugin

/// Word signatures (`item_words`): the merge writes one for each ASCII item it indexes, a change
/// of content or a delete drops it, the migration fills them for the items an older file holds,
/// and a near-duplicate check that rules FTS5's candidates out by them still finds the
/// near-duplicate among many candidates.
@Suite struct WordSignatureTests {
    /// The table's signatures, each test's view of them; checked against the store's memory of
    /// them (``WordSignatureCache``), which must hold exactly these.
    static func signatures(
        _ store: MemoryStore, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [Int64: NearDuplicate.WordSignature] {
        // Both under the writer's lock, where the memory is set after each commit: a background
        // fill may commit between a read of the table and a look at the memory otherwise.
        let (table, held) = try await store.pool.writeWithoutTransaction { db in
            var result: [Int64: NearDuplicate.WordSignature] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT seq, low, high FROM item_words") {
                result[row[0]] = .init(low: UInt64(bitPattern: row[1]), high: UInt64(bitPattern: row[2]))
            }
            // Every seq these tests' stores can have used, deleted items' too.
            return (result, store.signatures.lookup(Array(0..<2000)).held)
        }
        #expect(held == table, "the memory holds the table's", sourceLocation: sourceLocation)
        return table
    }

    static func seq(_ store: MemoryStore, _ id: String) async throws -> Int64 {
        try await store.pool.read { try Int64.fetchOne($0, sql: "SELECT seq FROM items WHERE id = ?", arguments: [id])! }
    }

    static func expected(_ content: String) -> NearDuplicate.WordSignature {
        NearDuplicate.WordSignature(words: FTSQuery.words(content))
    }

    @Test func theMergeWritesThemAndChangesDropThem() async throws {
        var settings = PendingIndexTests.held()
        settings.duplicates = .merge
        let (store, _, _) = try makeStore(settings)
        let ascii = try await store.put(item("Quartz lantern, ferry and harbour at dusk", .longTerm))
        _ = try await store.put(item("café crème au comptoir du matin", .longTerm))
        #expect(try await Self.signatures(store).isEmpty, "pending items have none")
        try store.mergePending(limit: 100)
        let a = try await Self.seq(store, ascii)
        #expect(
            try await Self.signatures(store) == [a: Self.expected("Quartz lantern, ferry and harbour at dusk")],
            "the ASCII item's own; none for the other")
        _ = try await store.update(id: ascii, ItemPatch(content: "Quartz lantern by the canal at night"))
        #expect(try await Self.signatures(store).isEmpty, "a change of content drops it")
        try store.mergePending(limit: 100)
        #expect(try await Self.signatures(store) == [a: Self.expected("Quartz lantern by the canal at night")])
        #expect(try await store.delete(id: ascii))
        #expect(try await Self.signatures(store).isEmpty)
    }

    /// The memory of the signatures is the table's after an open and a restore; a delete that
    /// rolls back leaves the row unknown there, read from the table, and the check still finds
    /// the near-duplicate.
    @Test func theMemoryFollowsOpensRestoresAndRollbacks() async throws {
        var settings = PendingIndexTests.held()
        settings.duplicates = .merge
        let (store, clock, dir) = try makeStore(settings)
        let text = "Quartz lantern, ferry and harbour at dusk by the old stone quay"
        let id = try await store.put(item(text, .longTerm))
        _ = try await store.put(item("Velvet compass over the northern ridge at noon", .longTerm))
        try store.mergePending(limit: 100)
        let seq = try await Self.seq(store, id)
        let all = try await Self.signatures(store)
        #expect(all.count == 2)
        let reopened = try MemoryStore(path: dir + "/memory.sqlite", settings: settings, clock: clock.closure)
        #expect(try await Self.signatures(reopened) == all, "loaded at open")
        let snapshot = try TemporaryDirectory.make(prefix: "jamey-memory-snapshot")
        try store.snapshot(into: snapshot)
        #expect(try await store.delete(id: id))
        #expect(try await Self.signatures(store).count == 1, "forgotten with the row")
        try store.restore(from: snapshot)
        #expect(try await Self.signatures(store) == all, "reloaded after the restore")
        struct Undo: Error {}
        await #expect(throws: Undo.self) {
            try await store.pool.write { db in
                try db.execute(sql: "DELETE FROM items WHERE seq = ?", arguments: [seq])
                throw Undo()
            }
        }
        #expect(store.signatures.lookup([seq]).unknown == [seq], "forgotten by the delete that rolled back")
        #expect(try await store.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM item_words") } == 2)
        let near = try await store.store([item("Quartz lantern, ferry and harbour at dusk by the old stone quays", .longTerm)])[0]
        #expect(near.merged && near.item.id == id)
    }

    /// A text among forty merged candidates that each hold two thirds of its words (every third
    /// word changed, so they share none of its shingles): its near-duplicate (one word changed)
    /// merges into it, and a near-miss (four changed) does not.
    @Test func aNearDuplicateIsFoundAmongManyCandidates() async throws {
        var settings = PendingIndexTests.held()
        settings.duplicates = .merge
        let (store, _, _) = try makeStore(settings)
        let words = "zephyr quokka marble in the tall glass tower near the old river bridge at noon".split(separator: " ")
        let original = try await store.put(item(words.joined(separator: " "), .longTerm))
        for i in 0..<40 {
            let filler = words.enumerated().map { j, word in (j + i) % 3 == 0 ? "f\(i)x\(j)" : String(word) }
            _ = try await store.put(item(filler.joined(separator: " "), .longTerm))
        }
        try store.mergePending(limit: 1000)
        #expect(try await Self.signatures(store).count == 41)
        let nearMiss = try await store.store([
            item("zephyr quokka marble in the short brick tower near the new river bridge at dawn", .longTerm)
        ])[0]
        #expect(!nearMiss.merged)
        let near = try await store.store([
            item("zephyr quokka marble in the tall glass tower near the old river bridge at dusk", .longTerm)
        ])[0]
        #expect(near.merged && near.item.id == original)
    }

    /// A file written before signatures (migrated up to `v6 layer stats`), with four ASCII items
    /// and one not, all merged into FTS5.
    static func olderFile() async throws -> (path: String, texts: [String]) {
        let dir = try TemporaryDirectory.make(prefix: "jamey-memory-v6")
        let path = dir + "/memory.sqlite"
        let texts = [
            "Alpha bravo charlie delta", "echo foxtrot golf hotel india", "naïve café text", "juliet kilo lima",
            "mike november oscar papa",
        ]
        let queue = try DatabaseQueue(path: path)
        try MemoryStore.migrator.migrate(queue, upTo: "v6 layer stats")
        try await queue.write { db in
            for (index, text) in texts.enumerated() {
                try db.execute(
                    sql: "INSERT INTO items(id, layer, content, created_at, last_accessed_at) VALUES (?, 'long_term', ?, 0, 0)",
                    arguments: ["old-\(index)", text])
            }
            // Merged, as that version's merge left them.
            try db.execute(sql: "INSERT INTO items_fts(rowid, content) SELECT seq, content FROM items")
            try db.execute(sql: "DELETE FROM items_pending")
        }
        try queue.close()
        return (path, texts)
    }

    /// The signatures an older file's ASCII items should have.
    static func expected(_ store: MemoryStore, _ texts: [String]) async throws -> [Int64: NearDuplicate.WordSignature] {
        var expected: [Int64: NearDuplicate.WordSignature] = [:]
        for (index, text) in texts.enumerated() where text.utf8.allSatisfy({ $0 < 0x80 }) {
            expected[try await Self.seq(store, "old-\(index)")] = Self.expected(text)
        }
        return expected
    }

    /// An older file's items get theirs after the open, a batch at a time, each from the content
    /// as it is then (one changed before the fill reached it).
    @Test func anOlderFilesItemsAreFilledInBatches() async throws {
        var (path, texts) = try await Self.olderFile()
        let store = try MemoryStore(path: path, settings: PendingIndexTests.held(), clock: TestClock().closure)
        #expect(try await Self.signatures(store).isEmpty, "the open does not wait for them")
        #expect(try store.fillWordSignatures(batch: 2))
        #expect(try await Self.signatures(store).count == 2)
        texts[3] = "juliet kilo quebec romeo"
        _ = try await store.update(id: "old-3", ItemPatch(content: texts[3]))
        #expect(try store.fillWordSignatures(batch: 2))
        #expect(try !store.fillWordSignatures(batch: 2))
        #expect(try !store.fillWordSignatures(batch: 2), "done")
        let expected = try await Self.expected(store, texts)
        #expect(expected.count == 4)
        #expect(try await Self.signatures(store) == expected)
    }

    /// With the background merge on, the fill runs by itself while stores pause (nothing is
    /// pending, so no merge writes them).
    @Test func anOlderFilesItemsAreFilledInTheBackground() async throws {
        let (path, texts) = try await Self.olderFile()
        let store = try MemoryStore(path: path, settings: MemorySettings(), clock: TestClock().closure)
        let expected = try await Self.expected(store, texts)
        var found = try await Self.signatures(store)
        for _ in 0..<100 where found != expected {
            try await Task.sleep(for: .milliseconds(100))
            found = try await Self.signatures(store)
        }
        #expect(found == expected)
        #expect(try store.fillWordSignatures() == false)
    }
}
