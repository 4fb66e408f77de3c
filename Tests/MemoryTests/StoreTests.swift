import Foundation
import GRDB
import MemoryCore
import Testing

@testable import MemoryPlugin

/// Store, get, update, delete, list and filters on a real SQLite file.
@Suite struct StoreTests {
    @Test func storeThenGetReinforces() async throws {
        let (store, clock, _) = try makeStore()
        let id = try await store.put(item("Ada wrote the first program", tags: ["history"]))
        clock.advance(10)
        let (first, _) = try await store.get(id: id)
        #expect(first.content == "Ada wrote the first program")
        #expect(first.accessCount == 1)
        #expect(first.lastAccessedAt == clock.now)
        #expect(first.tags == ["history"])
        let (second, _) = try await store.get(id: id)
        #expect(second.accessCount == 2)
    }

    @Test func updateAndDelete() async throws {
        let (store, _, _) = try makeStore()
        let id = try await store.put(item("draft note"))
        let changed = try await store.update(
            id: id,
            ItemPatch(
                content: "final note", tags: ["done"], importance: 0.9,
                links: [.init(kind: "entity", target: "e1", relation: "about")]))
        #expect(changed.content == "final note")
        #expect(try await store.ids("final") == [id])
        #expect(try await store.ids("draft").isEmpty)
        let (_, links) = try await store.get(id: id)
        #expect(links == [.init(kind: "entity", target: "e1", relation: "about")])
        #expect(try await store.delete(id: id))
        #expect(try await !store.delete(id: id))
        #expect(await status { _ = try await store.get(id: id) } == 404)
    }

    @Test func listIsNewestFirstAndFiltersByLayerTagSourceAndTime() async throws {
        let (store, clock, _) = try makeStore()
        let a = try await store.put(item("alpha one", .episodic, tags: ["x"], source: "soul"))
        clock.advance(60)
        let middle = clock.now.timeIntervalSince1970
        let b = try await store.put(item("beta two", .episodic, tags: ["x", "y"], source: "conscience"))
        clock.advance(60)
        let c = try await store.put(item("gamma three", .semantic, tags: ["y"], source: "soul"))
        #expect(try await store.list(.init(), limit: 10).map(\.0.id) == [c, b, a])
        #expect(try await store.list(.init(layers: [.episodic]), limit: 10).map(\.0.id) == [b, a])
        #expect(try await store.list(.init(tags: ["x", "y"]), limit: 10).map(\.0.id) == [b])
        #expect(try await store.list(.init(source: "soul"), limit: 10).map(\.0.id) == [c, a])
        #expect(try await store.list(.init(since: middle), limit: 10).map(\.0.id) == [c, b])
        #expect(try await store.list(.init(until: middle), limit: 10).map(\.0.id) == [a])
        #expect(try await store.list(.init(), limit: 1).map(\.0.id) == [c])
    }

    /// A list by tag reads `item_tags` (kept by the store and by triggers) and one by source the index by source and
    /// time, so each reads the matching items only; both follow every change: a tag added by an
    /// update or by a near-duplicate merged in, a tag removed, a delete, a repeated tag, an
    /// eviction, and a file that had tagged items before the table existed.
    @Test func listsByTagAndSourceFollowEveryChangeAndReadTheirIndexes() async throws {
        var settings = MemorySettings()
        settings.retention.policies[.working]?.capacity = 2
        let (store, clock, dir) = try makeStore(settings)
        func tagged(_ tag: String) async throws -> [String] {
            try await store.list(.init(tags: [tag]), limit: 10).map(\.0.id)
        }
        /// The table holds exactly each item's distinct tags with its creation time.
        func expectTableMatchesTheItems(_ step: Comment) async throws {
            let (table, items) = try await store.pool.read { db in
                let row = { (r: Row) in "\(r[0] as String) \(r[1] as Double) \(r[2] as Int64)" }
                return (
                    try Row.fetchAll(db, sql: "SELECT tag, created_at, seq FROM item_tags ORDER BY 1, 2, 3").map(row),
                    try Row.fetchAll(
                        db,
                        sql: """
                            SELECT DISTINCT tag.value, items.created_at, items.seq FROM items, json_each(items.tags) AS tag
                            ORDER BY 1, 2, 3
                            """
                    ).map(row)
                )
            }
            #expect(table == items, step)
        }
        let a = try await store.put(item("the kettle is broken", .episodic, tags: ["home", "home"], source: "soul"))
        clock.advance(1)
        let b = try await store.put(item("buy a new kettle on monday", .episodic, tags: ["todo"]))
        clock.advance(1)
        #expect(try await tagged("home") == [a])
        _ = try await store.update(id: b, ItemPatch(tags: ["todo", "home"]))
        #expect(try await tagged("home") == [b, a])
        _ = try await store.update(id: a, ItemPatch(tags: ["fixed"]))
        #expect(try await tagged("home") == [b])
        #expect(try await tagged("fixed") == [a])
        try await expectTableMatchesTheItems("after updates")
        // A near-duplicate stored with another tag is merged into b, which gains the tag.
        let merged = try await store.store([item("buy a new kettle on monday", .episodic, tags: ["errand"])])
        #expect(merged[0].merged && merged[0].item.id == b)
        #expect(try await tagged("errand") == [b])
        try await expectTableMatchesTheItems("after a near-duplicate merged in")
        #expect(try await store.delete(id: b))
        for tag in ["todo", "home", "errand"] { #expect(try await tagged(tag).isEmpty, "\(tag)") }
        try await expectTableMatchesTheItems("after a delete")
        // Evictions leave the table too.
        var working: [String] = []
        for i in 0..<3 {
            clock.advance(1)
            working.append(try await store.put(item("passing thought \(i)", .working, tags: ["now"])))
        }
        #expect(try await tagged("now") == [working[2], working[1]])
        try await expectTableMatchesTheItems("after an eviction")
        #expect(try await store.list(.init(source: "soul"), limit: 10).map(\.0.id) == [a])
        let plans = try await store.pool.read { db in
            try ["item_tags.tag = 'now'", "items.source = 'soul'"].map { condition in
                let from = condition.hasPrefix("item_tags") ? "item_tags CROSS JOIN items ON items.seq = item_tags.seq" : "items"
                return try Row.fetchAll(
                    db, sql: "EXPLAIN QUERY PLAN SELECT items.* FROM \(from) WHERE \(condition) ORDER BY created_at DESC LIMIT 5"
                ).map { $0["detail"] as String }.joined(separator: "; ")
            }
        }
        #expect(plans[0].contains("item_tags") && !plans[0].contains("SCAN items"), "\(plans[0])")
        #expect(plans[1].contains("items_by_source_time"), "\(plans[1])")
        // A file with tagged items from before migration v11 gets them in the table when it opens.
        try await store.pool.write { db in
            // (v13 then drops the insert trigger v11 makes again.)
            try db.execute(
                sql: "DELETE FROM item_tags; DELETE FROM grdb_migrations WHERE identifier LIKE 'v11%' OR identifier LIKE 'v13%'")
            try db.execute(
                sql: """
                    DROP TRIGGER item_tags_delete; DROP TRIGGER item_tags_update;
                    DROP TABLE item_tags; DROP INDEX items_by_source_time
                    """)
        }
        let reopened = try MemoryStore(path: dir + "/memory.sqlite", settings: settings, clock: clock.closure)
        #expect(try await reopened.list(.init(tags: ["now"]), limit: 10).map(\.0.id) == [working[2], working[1]])
        #expect(try await reopened.list(.init(tags: ["fixed"]), limit: 10).map(\.0.id) == [a])
    }

    @Test func searchFiltersAcrossAndWithinLayers() async throws {
        let (store, _, _) = try makeStore()
        let a = try await store.put(item("the garden needs water", .episodic, tags: ["home"]))
        let b = try await store.put(item("water the garden on friday", .semantic, tags: ["todo"]))
        #expect(Set(try await store.ids("garden water")) == [a, b])
        #expect(try await store.ids("garden", .init(layers: [.semantic])) == [b])
        #expect(try await store.ids("garden", .init(tags: ["home"])) == [a])
        #expect(try await store.ids("friday garden") == [b])
        #expect(Set(try await store.ids("friday needs", mode: .any)) == [a, b])
    }

    /// A store writes its batch's pending-log rows, layer counts and tags once per batch
    /// (``MemoryStore/recordInserted(_:after:)``), not through insert triggers: after a batch
    /// that spans layers, carries tags, evicts one of its own items and merges a near-duplicate
    /// of another, the log holds exactly the items, `layer_stats` equals a pass over them and
    /// `item_tags` their tags; each of the three statements reads the new rows by `seq`.
    @Test func aBatchsBookkeepingIsWrittenOnceForTheBatch() async throws {
        var settings = MemorySettings()
        settings.retention.policies[.working]?.capacity = 2
        // The pending log as the store wrote it: no background merge empties it meanwhile (in a
        // loaded full run the test took 57 s, past the merger's 1 s wait, and found it empty).
        settings.backgroundMerge = false
        let (store, _, _) = try makeStore(settings)
        _ = try await store.put(item("an item from before the batch", .semantic, tags: ["old"]))
        let outcomes = try await store.store([
            item("first passing thought", .working, tags: ["w"]),
            item("second passing thought here", .working),
            item("the garden needs water today", .episodic, tags: ["home", "garden"]),
            item("third passing thought again", .working, tags: ["w", "late"]),
            item("the garden needs water today", .episodic, tags: ["chores"]),
            item("café au lait", .longTerm, tags: ["ünï"]),
        ])
        #expect(outcomes.map(\.merged) == [false, false, false, false, true, false])
        let (pending, stats, tags, pass, derived) = try await store.pool.read { db in
            (
                try Int64.fetchAll(db, sql: "SELECT seq FROM items_pending ORDER BY seq"),
                try Row.fetchAll(db, sql: "SELECT layer, items, bytes FROM layer_stats WHERE items > 0 ORDER BY layer")
                    .map { "\($0[0] as String) \($0[1] as Int) \($0[2] as Int)" },
                try Row.fetchAll(db, sql: "SELECT tag, created_at, seq FROM item_tags ORDER BY 1, 2, 3")
                    .map { "\($0[0] as String) \($0[1] as Double) \($0[2] as Int64)" },
                try Row.fetchAll(
                    db, sql: "SELECT layer, \(MemoryStore.layerTotals) FROM items GROUP BY layer ORDER BY layer"
                ).map { "\($0[0] as String) \($0[1] as Int) \($0[2] as Int)" },
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT tag.value, items.created_at, items.seq FROM items, json_each(items.tags) AS tag
                        ORDER BY 1, 2, 3
                        """
                ).map { "\($0[0] as String) \($0[1] as Double) \($0[2] as Int64)" }
            )
        }
        let seqs = try await store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM items ORDER BY seq") }
        // Six items: the one before, two working (the first evicted), the merged pair, the café.
        #expect(seqs.count == 5)
        #expect(pending == seqs)
        #expect(stats == pass)
        #expect(tags == derived)
        #expect(tags.contains { $0.hasPrefix("chores ") })
        let (triggers, plans) = try await store.pool.read { db in
            (
                try String.fetchAll(
                    db,
                    sql:
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'items' AND sql LIKE '%AFTER INSERT%'"
                ),
                try MemoryStore.insertedBookkeeping.map { sql in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(sql)", arguments: [1]).map { $0["detail"] as String }
                        .joined(separator: "; ")
                }
            )
        }
        #expect(triggers.isEmpty)
        for plan in plans { #expect(plan.contains("SEARCH items USING INTEGER PRIMARY KEY (rowid>?)"), "\(plan)") }
        // Merged, the log is empty and the counts unchanged.
        while try store.mergePending(limit: 100) > 0 {}
        #expect(try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM items_pending") } == 0)
    }

    /// An update checks what it sets, not what the item holds already: content stored before
    /// `max_content_bytes` was lowered, and a pin in a layer whose config no longer pins, stay
    /// through an update of another field (both were refused, so the item could not be changed
    /// at all without replacing them); setting them is checked against today's limits.
    @Test func anUpdateChecksWhatItSetsNotWhatTheItemHolds() async throws {
        var generous = MemorySettings()
        generous.maxContentBytes = 1000
        let (store, _, dir) = try makeStore(generous)
        let long = String(repeating: "word ", count: 100)
        let id = try await store.put(item(long, .episodic, pinned: true))
        var strict = MemorySettings()
        strict.maxContentBytes = 100
        strict.retention.policies[.episodic]?.allowsPinning = false
        let reopened = try MemoryStore(path: dir + "/memory.sqlite", settings: strict)
        let updated = try await reopened.update(id: id, ItemPatch(tags: ["kept"], importance: 0.9))
        #expect(updated.content == long && updated.pinned && updated.tags == ["kept"] && updated.importance == 0.9)
        #expect(await status { _ = try await reopened.update(id: id, ItemPatch(content: long + "more")) } == 413)
        #expect(await status { _ = try await reopened.update(id: id, ItemPatch(pinned: true)) } == 400)
        #expect(await status { _ = try await reopened.update(id: id, ItemPatch(importance: 2)) } == 400)
        #expect(try await reopened.update(id: id, ItemPatch(content: "short now", pinned: false)).pinned == false)
    }

    @Test func oversizedAndInvalidItemsStoreNothing() async throws {
        var settings = MemorySettings()
        settings.maxContentBytes = 10
        let (store, _, _) = try makeStore(settings)
        #expect(await status { _ = try await store.put(item("far more than ten bytes")) } == 413)
        #expect(await status { _ = try await store.store([item("ok"), item("also far too long here")]) } == 413)
        #expect(await status { _ = try await store.put(item("  ")) } == 400)
        #expect(await status { _ = try await store.put(item("x", importance: 2)) } == 400)
        #expect(await status { _ = try await store.put(item("x", .working, pinned: true)) } == 400)
        #expect(try await store.list(.init(), limit: 10).isEmpty)
    }

    @Test func badSyntaxFromSQLiteIsABadQuery() async throws {
        let (store, _, _) = try makeStore()
        _ = try await store.put(item("anything"))
        let code = await status {
            _ = try await store.search(try FTSQuery("NEAR(a b, x)", syntax: true), filter: .init(), limit: 5)
        }
        #expect(code == 400)
    }
}

/// A search is stopped at `search_timeout_ms` (SQLite interrupted, 503 `search-timeout`), and the
/// connection it ran on serves the next search as before: a query in operator syntax ran for
/// minutes after its caller had gone.
@Suite struct SearchTimeoutTests {
    @Test func aSearchPastItsDeadlineIsStoppedAndTheNextRuns() async throws {
        var settings = MemorySettings()
        // Long enough for the second search on a loaded machine; the first is held past it.
        settings.searchTimeout = .seconds(2)
        settings.duplicates = .allow
        let (store, _, _) = try makeStore(settings)
        for part in 0..<3 {
            _ = try await store.store(
                (0..<1000).map { item("harbour note number \(part * 1000 + $0) about boats and \($0 % 17) gulls", .longTerm) })
        }
        // The first search is held past its deadline before SQLite runs it.
        store.duringSearch.set { [store] _ in
            store.duringSearch.set(nil)
            usleep(2_500_000)
        }
        do {
            _ = try await store.search(FTSQuery("harbour boats"), filter: .init(), limit: 10, reinforce: false)
            Issue.record("expected the deadline")
        } catch let error as MemoryError {
            #expect(error.status == 503 && error.slug == "search-timeout", "\(error)")
            #expect(error.detail.contains("search_timeout_ms (2000 ms)"), "\(error.detail)")
        }
        let hits = try await store.search(FTSQuery("harbour boats"), filter: .init(), limit: 10, reinforce: false)
        #expect(hits.count == 10)
    }
}
