import Foundation
import GRDB
import MemoryCore
import Testing

@testable import MemoryPlugin

/// Near-duplicates on store (merge, reject, allow) and consolidation (merge, promote).
@Suite struct ConsolidationTests {
    let text = "the meeting with the design team moved from tuesday morning to thursday afternoon in room four"
    let near = "the meeting with the design team moved from tuesday morning to thursday afternoon in room five"
    let miss = "the design team meets on thursday afternoon to review the room booking for next month"

    @Test func nearDuplicateOnStoreIsMergedByDefault() async throws {
        let (store, _, _) = try makeStore()
        let first = try await store.store([item(text, tags: ["a"], importance: 0.2)])[0]
        let second = try await store.store([item(near, tags: ["b"], importance: 0.6)])[0]
        #expect(!first.merged)
        #expect(second.merged)
        #expect(second.item.id == first.item.id)
        #expect(second.item.tags == ["a", "b"])
        #expect(second.item.importance == 0.6)
        #expect(second.item.accessCount == 1)
        let third = try await store.store([item(miss)])[0]
        #expect(!third.merged)
        #expect(try await store.list(.init(), limit: 10).count == 2)
    }

    /// A store whose background merge is off: what it stores stays pending (in the tail) until
    /// `merge` is called.
    static func held() throws -> MemoryStore {
        var settings = MemorySettings()
        settings.backgroundMerge = false
        return try makeStore(settings).0
    }

    /// Merges everything pending into FTS5 (`indexed`) or leaves it pending.
    static func settle(_ store: MemoryStore, indexed: Bool) throws {
        if indexed { try store.mergePending(limit: .max) }
    }

    /// Among 3,000 items that share common words, a near-duplicate is still found both when the
    /// text has two rare words (the lookup then reads only those: a few rows, not thousands) and
    /// when every word is common (then the words a near-duplicate must hold together: FTS5
    /// returns the few rows holding all of them, not the thousands holding one); whether the
    /// items are merged into FTS5 (`indexed`) or still pending.
    @Test(arguments: [true, false])
    func nearDuplicatesAreFoundAmongManyItemsSharingCommonWords(indexed: Bool) async throws {
        // The fillers go in without near-duplicate checks (each checked against thousands of
        // pending items sharing its words took 40 s of a debug build's CPU), then the store is
        // opened again with the checks; its items are still pending, as they were.
        var allowing = MemorySettings()
        allowing.backgroundMerge = false
        allowing.duplicates = .allow
        let (filling, _, dir) = try makeStore(allowing)
        let common = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
        let fillers = (0..<3000).map { i in
            item((0..<6).map { common[($0 * 3 + i) % common.count] }.joined(separator: " ") + " filler\(i)")
        }
        for start in stride(from: 0, to: fillers.count, by: 500) {
            _ = try await filling.store(Array(fillers[start..<start + 500]))
        }
        var checking = MemorySettings()
        checking.backgroundMerge = false
        let store = try MemoryStore(path: dir + "/memory.sqlite", settings: checking)
        #expect(try await PendingIndexTests.pending(store) == 3000)
        // 20 words: changing the last one keeps 17 of 19 shingles (similarity 0.89).
        let body =
            "alpha bravo charlie delta quokka echo foxtrot golf hotel alpha bravo charlie delta echo foxtrot golf hotel alpha bravo"
        let original = try await store.store([item(body + " numbat")])[0]
        #expect(!original.merged)
        try Self.settle(store, indexed: indexed)
        if indexed {
            #expect(
                try await store.pool.read { db in try store.rarestWords(db, of: body + " numbat", count: 5, budget: 2000) }
                    == ["numbat", "quokka"], "two rare words: only they are read")
        } else {
            #expect(try await PendingIndexTests.pending(store) == 3001)
        }
        let again = try await store.store([item(body + " wombat")])[0]
        #expect(again.merged && again.item.id == original.item.id, "a changed rare word still leaves one to find it by")
        let plain =
            "hotel golf foxtrot echo delta charlie bravo alpha hotel golf foxtrot echo delta charlie bravo alpha hotel golf foxtrot"
        let first = try await store.store([item(plain + " echo")])[0]
        #expect(!first.merged)
        try Self.settle(store, indexed: indexed)
        if indexed {
            let rows = try await store.pool.read { db in
                let profile = store.settings.nearDuplicate.profile(plain + " delta")
                guard case .read(let lookup)? = try store.duplicateLookup(db, of: profile).plan else {
                    return -1
                }
                return try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM items_fts WHERE items_fts MATCH ?", arguments: [lookup.expression]) ?? -1
            }
            #expect((1..<10).contains(rows), "words held together: the planted item, not the 3,000 holding some")
        }
        let second = try await store.store([item(plain + " delta")])[0]
        #expect(second.merged && second.item.id == first.item.id, "only common words: still found")
        #expect(try await store.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items") } == 3002)
    }

    /// Stores of near-duplicates do not wait for the merge into FTS5: the check reads FTS5 and the
    /// pending items together. A near-duplicate of an item stored just before (still pending) is
    /// merged into it, near-misses are kept, and `reject` refuses it, whether the twin is pending
    /// or merged (`indexed`).
    @Test(arguments: [true, false])
    func nearDuplicateOfAPendingOrMergedItemIsFound(indexed: Bool) async throws {
        let store = try Self.held()
        let first = try await store.store([item(text, tags: ["a"], importance: 0.2)])[0]
        try Self.settle(store, indexed: indexed)
        #expect(try await PendingIndexTests.pending(store) == (indexed ? 0 : 1))
        let second = try await store.store([item(near, tags: ["b"], importance: 0.6)])[0]
        #expect(second.merged && second.item.id == first.item.id)
        #expect(second.item.tags == ["a", "b"] && second.item.importance == 0.6 && second.item.accessCount == 1)
        let third = try await store.store([item(miss)])[0]
        #expect(!third.merged)
        _ = try await store.store([item(near, .episodic)])  // another layer: not a duplicate
        #expect(try await store.list(.init(), limit: 10).count == 3)
        #expect(try await store.get(id: first.item.id).0.content == text)
        var settings = MemorySettings()
        settings.backgroundMerge = false
        settings.duplicates = .reject
        let (rejecting, _, _) = try makeStore(settings)
        let kept = try await rejecting.put(item(text))
        try Self.settle(rejecting, indexed: indexed)
        #expect(await status { _ = try await rejecting.put(item(near)) } == 409)
        #expect(try await rejecting.list(.init(), limit: 10).map(\.0.id) == [kept])
    }

    /// Within one batch a near-duplicate of an earlier item of the batch is merged into it, and
    /// a near-duplicate of an item pending since before a restart is found after it.
    @Test func nearDuplicatesWithinABatchAndAfterARestartAreFound() async throws {
        var settings = MemorySettings()
        settings.backgroundMerge = false
        let (store, _, dir) = try makeStore(settings)
        let outcomes = try await store.store([item(text), item(miss), item(near)])
        #expect(outcomes.map(\.merged) == [false, false, true])
        #expect(outcomes[2].item.id == outcomes[0].item.id)
        let again = "the meeting with the design team moved from tuesday morning to thursday afternoon in room six"
        let reopened = try MemoryStore(path: dir + "/memory.sqlite", settings: settings)
        #expect(try await PendingIndexTests.pending(reopened) == 2)
        let merged = try await reopened.store([item(again)])[0]
        #expect(merged.merged && merged.item.id == outcomes[0].item.id)
        #expect(try await reopened.list(.init(), limit: 10).count == 2)
    }

    /// Near-duplicates stored at the same time are never both kept: each store checks and
    /// inserts under the writer's lock, so the later one sees the earlier one (pending).
    @Test func concurrentStoresOfNearDuplicatesKeepOneItem() async throws {
        let store = try Self.held()
        for round in 0..<20 {
            let base =
                "round \(round) note \(round) the meeting with the design team moved from tuesday morning to thursday afternoon in room"
            let outcomes = try await withThrowingTaskGroup(of: StoreOutcome.self) { group in
                for variant in ["four", "five", "six", "seven"] {
                    group.addTask { try await store.store([item(base + " " + variant)])[0] }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { !$0.merged }.count == 1, "round \(round)")
            #expect(Set(outcomes.map(\.item.id)).count == 1, "round \(round)")
        }
        #expect(try await store.list(.init(), limit: 100).count == 20)
    }

    @Test func nearDuplicateIsRejectedOrAllowedByPolicy() async throws {
        var settings = MemorySettings()
        settings.duplicates = .reject
        let (rejecting, _, _) = try makeStore(settings)
        _ = try await rejecting.put(item(text))
        #expect(await status { _ = try await rejecting.put(item(near)) } == 409)
        _ = try await rejecting.put(item(near, .episodic))  // another layer: not a duplicate
        settings.duplicates = .allow
        let (allowing, _, _) = try makeStore(settings)
        _ = try await allowing.put(item(text))
        _ = try await allowing.put(item(near))
        #expect(try await allowing.list(.init(), limit: 10).count == 2)
    }

    @Test func consolidationMergesPlantedDuplicatesAndKeepsNearMisses() async throws {
        var settings = MemorySettings()
        settings.duplicates = .allow
        let (store, clock, _) = try makeStore(settings)
        let keep = try await store.put(item(text, .episodic, tags: ["a"]))
        clock.advance(1)
        let dup = try await store.put(item(near, .episodic, tags: ["b"], importance: 0.8))
        let other = try await store.put(item(miss, .episodic))
        let report = try await store.consolidate()
        #expect(report.merged == [.episodic: 1])
        let left = try await store.list(.init(), limit: 10).map(\.0)
        #expect(Set(left.map(\.id)) == [keep, other])
        let kept = try #require(left.first { $0.id == keep })
        #expect(kept.tags == ["a", "b"])
        #expect(kept.importance == 0.8)
        #expect(await status { _ = try await store.get(id: dup) } == 404)
    }

    /// Consolidation works in pieces (a transaction per few hundred items, or per 20 ms): cut
    /// to one item a piece it merges what one piece does, counts each merge once, and still
    /// compares only the newest `consolidationScan` items of a layer.
    @Test(arguments: [1, 512])
    func consolidationInPiecesMergesWhatOnePieceWould(piece: Int) async throws {
        var settings = MemorySettings()
        settings.duplicates = .allow
        settings.consolidationPiece = piece
        settings.consolidationScan = 4
        let (store, clock, _) = try makeStore(settings)
        let budget = "the quarterly budget review moved from the small room to the large conference room on friday"
        let trail = "the river trail near the old mill stays closed for repairs until the middle of next year"
        let coffee = "our new coffee machine in the kitchen makes espresso and cappuccino for the whole office floor"
        var ids: [String: String] = [:]
        // Oldest first: a pair outside the window of four (left alone), then two pairs in it.
        for (name, body) in [
            ("c", coffee + " today"), ("c2", coffee + " daily"), ("b", budget + " morning"), ("t", trail + " sadly"),
            ("b2", budget + " afternoon"), ("t2", trail + " again"),
        ] {
            ids[name] = try await store.put(item(body, .episodic, tags: [name]))
            clock.advance(1)
        }
        let report = try await store.consolidate()
        #expect(report.merged == [.episodic: 2])
        let left = Set(try await store.list(.init(), limit: 10).map(\.0.id))
        #expect(left == Set(["c", "c2", "b", "t"].compactMap { ids[$0] }))
        #expect(try await store.get(id: ids["b"]!).0.tags == ["b", "b2"])
        #expect(try await store.get(id: ids["t"]!).0.tags == ["t", "t2"])
        // Four items are left, all in the window now: the next run merges the old pair.
        #expect(try await store.consolidate().merged == [.episodic: 1])
        #expect(try await store.consolidate().merged == [:], "nothing left to merge")
    }

    /// The older of two near-duplicates is kept, as the README says, also when it lies outside
    /// the scan (older than the newest `consolidationScan` items): the newer one found it and,
    /// until session 34, absorbed it, so the older id vanished.
    @Test func anOlderDuplicateOutsideTheScanKeepsItsId() async throws {
        var settings = MemorySettings()
        settings.duplicates = .allow
        settings.consolidationScan = 1
        let (store, clock, _) = try makeStore(settings)
        let older = try await store.put(item(text, .episodic, tags: ["older"], importance: 0.2))
        clock.advance(1)
        let newer = try await store.put(item(near, .episodic, tags: ["newer"], importance: 0.7))
        let events = ItemEvents()
        #expect(try await store.consolidate(events: events).merged == [.episodic: 1])
        let left = try await store.list(.init(), limit: 10).map(\.0)
        #expect(left.map(\.id) == [older])
        #expect(left.first?.tags == ["older", "newer"])
        #expect(left.first?.importance == 0.7)
        #expect(await status { _ = try await store.get(id: newer) } == 404)
        let deleted = events.since(0).filter { $0.kind == .deleted }
        #expect(deleted.map(\.id) == [newer])
        #expect(deleted.first?.detail["into"] == older)
    }

    /// A merged near-duplicate keeps its own tags and takes the other's only up to the 32 a store
    /// may give, at a store and in consolidation alike; before, it took the whole union, and
    /// every later update that left the tags alone was refused ("at most 32 tags").
    @Test func mergedTagsStayWithinTheLimitAndTheItemCanBeUpdated() async throws {
        let own = (0..<30).map { "own\($0)" }
        let other = (0..<5).map { "other\($0)" } + ["own0"]
        let (store, clock, _) = try makeStore()
        let first = try await store.store([item(text, tags: own)])[0]
        let second = try await store.store([item(near, tags: other)])[0]
        #expect(second.merged)
        #expect(second.item.tags == own + ["other0", "other1"])
        let updated = try await store.update(id: first.item.id, ItemPatch(importance: 0.9))
        #expect(updated.importance == 0.9)
        #expect(updated.tags.count == MemoryItem.maxTags)

        var settings = MemorySettings()
        settings.duplicates = .allow
        let (allowing, _, _) = try makeStore(settings)
        let older = try await allowing.put(item(text, .episodic, tags: own))
        clock.advance(1)
        _ = try await allowing.put(item(near, .episodic, tags: other))
        #expect(try await allowing.consolidate().merged == [.episodic: 1])
        let kept = try await allowing.get(id: older).0
        #expect(kept.tags == own + ["other0", "other1"])
        #expect(try await allowing.update(id: older, ItemPatch(pinned: true)).tags == kept.tags)
    }

    /// An item that holds more tags than a store may give (merged before the cap) keeps them
    /// through an update of another field; an update that sets tags is held to the limit.
    @Test func anItemWithMoreTagsThanTheLimitCanStillBeUpdated() async throws {
        let (store, _, _) = try makeStore()
        let id = try await store.put(item(text, .episodic))
        let many = (0..<40).map { "t\($0)" }
        try await store.pool.write { db in
            try db.execute(
                sql: "UPDATE items SET tags = ? WHERE id = ?", arguments: [MemoryItem.tagsText(many), id])
        }
        let updated = try await store.update(id: id, ItemPatch(importance: 0.8))
        #expect(updated.tags == many)
        #expect(try await store.get(id: id).0.tags == many)
        #expect(await status { _ = try await store.update(id: id, ItemPatch(tags: many)) } == 400)
        #expect(try await store.update(id: id, ItemPatch(tags: ["one"])).tags == ["one"])
    }

    /// A merge adds the other item's links up to the 64 an item may hold, at a store and in
    /// consolidation alike, so the links an item shows can be sent back in an update.
    @Test func mergedLinksStayWithinTheLimit() async throws {
        func links(_ prefix: String, _ count: Int) -> [MemoryLink] {
            (0..<count).map { MemoryLink(kind: "entity", target: "\(prefix)\($0)", relation: "") }
        }
        func with(_ text: String, _ layer: MemoryLayer, _ links: [MemoryLink]) -> NewItem {
            var new = item(text, layer)
            new.links = links
            return new
        }
        let (store, clock, _) = try makeStore()
        let first = try await store.store([with(text, .episodic, links("a", 60))])[0]
        let second = try await store.store([with(near, .episodic, links("b", 10))])[0]
        #expect(second.merged && second.links.count == MemoryLink.maxPerItem)
        let held = try await store.get(id: first.item.id).1
        #expect(held.count == MemoryLink.maxPerItem)
        _ = try await store.update(id: first.item.id, ItemPatch(links: held))

        var settings = MemorySettings()
        settings.duplicates = .allow
        let (allowing, _, _) = try makeStore(settings)
        let older = try await allowing.store([with(text, .episodic, links("a", 60))])[0].item.id
        clock.advance(1)
        _ = try await allowing.store([with(near, .episodic, links("b", 10))])
        #expect(try await allowing.consolidate().merged == [.episodic: 1])
        let kept = try await allowing.get(id: older).1
        #expect(kept.count == MemoryLink.maxPerItem)
        #expect(Set(kept.map(\.target)).isSuperset(of: links("a", 60).map(\.target)))
        _ = try await allowing.update(id: older, ItemPatch(links: kept))
    }

    /// A merged near-duplicate lives as long as what was stored: at a store the item's expiry
    /// becomes the later of its own and the new item's, and a pinned store pins it; in
    /// consolidation the survivor takes the later expiry of the two. Before, the existing item
    /// kept its own, so storing again a fact about to expire answered "merged" and the fact was
    /// gone moments later.
    @Test func aMergedItemLivesAsLongAsWhatWasStored() async throws {
        var settings = MemorySettings()
        settings.retention.policies[.shortTerm]?.ttlSeconds = 100
        let (store, clock, _) = try makeStore(settings)
        let id = try await store.put(item(text))
        clock.advance(90)
        let again = try await store.store([item(near)])[0]
        #expect(again.merged && again.item.id == id)
        #expect(again.item.expiresAt == clock.now.addingTimeInterval(100))
        clock.advance(20)
        #expect(try await store.get(id: id).0.expiresAt == clock.now.addingTimeInterval(80))
        let pinned = try await store.store([item(text + " again", pinned: true)])[0]
        #expect(pinned.merged && pinned.item.pinned && pinned.item.expiresAt == nil)
        clock.advance(1000)
        #expect(try await store.get(id: id).0.pinned)

        var allowing = settings
        allowing.duplicates = .allow
        let (other, otherClock, _) = try makeStore(allowing)
        let older = try await other.put(item(text))
        otherClock.advance(50)
        let newer = try await other.put(item(near))
        otherClock.advance(10)
        #expect(try await other.consolidate().merged == [.shortTerm: 1])
        #expect(await status { _ = try await other.get(id: newer) } == 404)
        otherClock.advance(60)
        let kept = try await other.get(id: older).0
        #expect(kept.expiresAt == otherClock.now.addingTimeInterval(30), "the newer item's expiry, 150 s after the first store")
    }

    @Test func consolidationPromotesReinforcedAndImportantItems() async throws {
        let (store, _, _) = try makeStore()
        let reinforced = try await store.put(item("reinforced fact about rivers"))
        let important = try await store.put(item("vital fact about mountains", importance: 0.95))
        let plain = try await store.put(item("plain fact about deserts"))
        let episodic = try await store.put(item("episode at the lake", .episodic))
        for _ in 0..<3 { _ = try await store.get(id: reinforced) }
        for _ in 0..<5 { _ = try await store.get(id: episodic) }
        let report = try await store.consolidate()
        #expect(report.promoted == ["short_term->episodic": 1, "short_term->long_term": 1, "episodic->semantic": 1])
        #expect(try await store.get(id: reinforced).0.layer == .episodic)
        #expect(try await store.get(id: important).0.layer == .longTerm)
        #expect(try await store.get(id: important).0.expiresAt == nil)
        #expect(try await store.get(id: plain).0.layer == .shortTerm)
        #expect(try await store.get(id: episodic).0.layer == .semantic)
    }
}

/// A text too long to check for near-duplicates (over 1 024 distinct words) is stored without
/// the check: its cost grew with the square of the words, and one 65 KB text of 20 000 distinct
/// words took 6.4 s to store while every other store waited. Shorter texts are checked as before.
@Suite struct LongTextDuplicateTests {
    @Test func aTextTooLongToCheckIsStoredUnchecked() async throws {
        var settings = MemorySettings()
        settings.duplicates = .reject
        let (store, _, _) = try makeStore(settings)
        let long = (0..<1100).map { "w\($0)x" }.joined(separator: " ")
        let first = try await store.put(item(long))
        let second = try await store.put(item(long))
        #expect(first != second, "stored twice: not checked")
        let short = (0..<1000).map { "s\($0)y" }.joined(separator: " ")
        _ = try await store.put(item(short))
        await #expect(throws: MemoryError.self) { _ = try await store.put(item(short)) }
    }
}
