import CJameyMemory
import CacheCore
import Foundation
import GRDB
import JameyTestKit
import Testing

@testable import JameyKernel

/// The real user: the memory plugin keeps search replies in the cache's `memory-search`
/// namespace (through the `cache.l1` service table) and no write leaves a stale reply behind.
@Suite struct MemorySearchCacheTests {
    static let config = """
        namespaces:
          - {name: memory-search, max_bytes: 8388608, l3_max_bytes: 0, max_value_bytes: 1048576}
        """

    static func boot(_ body: (CacheKernel) async throws -> Void) async throws {
        let memory = TestKernel.Plugin("memory", path: try TestPlugins.library("Memory"), required: true)
        let k = try await CacheKernel.boot(config: config, others: [memory])
        try await withStopping(k, stop: { await $0.stop() }, body)
    }

    static func ids(_ k: CacheKernel, _ query: String, reinforce: Bool = false) async throws -> [String] {
        let reply = try await k.request("memory.items.search", #"{"query":"\#(query)","reinforce":\#(reinforce)}"#)
        #expect(reply.status == 200)
        let hits = reply.body["hits"] as? [[String: Any]] ?? []
        return hits.compactMap { ($0["item"] as? [String: Any])?["id"] as? String }
    }

    static func store(_ k: CacheKernel, _ content: String) async throws -> String {
        let stored = try await k.request("memory.items.store", #"{"layer":"episodic","content":"\#(content)"}"#)
        #expect(stored.status == 201)
        return (stored.body["item"] as? [String: Any])?["id"] as? String ?? ""
    }

    @Test func aRepeatedSearchIsACacheHitAndEveryWriteIsSeen() async throws {
        try await Self.boot { k in
            let first = try await Self.store(k, "a walk on the pier at dawn")
            let empty = try await k.stats("memory-search")
            let once = try await Self.ids(k, "pier")
            #expect(once == [first])
            let twice = try await Self.ids(k, "pier")
            #expect(twice == once)
            let after = try await k.stats("memory-search")
            #expect(after.int("l1", "hits") == empty.int("l1", "hits") + 1, "the second search came from the cache")
            #expect(after.int("l1", "entries") >= 1)

            // A store: the next search sees it (and misses the cache).
            let second = try await Self.store(k, "fishing off the pier")
            #expect(Set(try await Self.ids(k, "pier")) == [first, second])
            // An update that changes what matches.
            let updated = try await k.request("memory.items.update", #"{"id":"\#(second)","content":"fishing off the jetty"}"#)
            #expect(updated.status == 200)
            #expect(try await Self.ids(k, "pier") == [first])
            #expect(try await Self.ids(k, "jetty") == [second])
            // A delete.
            #expect(try await k.request("memory.items.delete", #"{"id":"\#(first)"}"#).status == 204)
            #expect(try await Self.ids(k, "pier").isEmpty)
            // Consolidation (a write whatever it finds) and the repeated search after it.
            #expect(try await k.request("memory.consolidate").status == 200)
            #expect(try await Self.ids(k, "jetty") == [second])
            let before = try await k.stats("memory-search").int("l1", "hits")
            #expect(try await Self.ids(k, "jetty") == [second])
            #expect(try await k.stats("memory-search").int("l1", "hits") == before + 1)
        }
    }

    /// The memory plugin keeps using the cache after the cache plugin restarts: it held the
    /// first instance's table for good, so its searches went to a stopped instance's tiers (or,
    /// with that instance let go, missed for ever); it now looks the table up again.
    @Test func searchesAreCachedAgainAfterTheCacheRestarts() async throws {
        try await Self.boot { k in
            let first = try await Self.store(k, "a lantern on the quay")
            _ = try await Self.ids(k, "lantern")
            #expect(try await Self.search(k, #"{"query":"lantern","reinforce":false}"#).cached)
            let snapshot = try TemporaryDirectory.make(prefix: "jamey-cache-restart")
            let kernel = k.test.kernel
            try await onThread { try kernel.snapshot(plugin: "cache", into: snapshot) }
            try await onThread { try kernel.restore(plugin: "cache", from: snapshot) }
            #expect(kernel.plugin(named: "memory")?.state == .started)
            #expect(try await Self.ids(k, "lantern") == [first])
            let again = await eventually(timeout: .seconds(10)) {
                _ = try? await Self.ids(k, "lantern")
                return (try? await Self.search(k, #"{"query":"lantern","reinforce":false}"#).cached) == true
            }
            #expect(again, "a repeated search is a hit in the new cache instance")
        }
    }

    /// A search's hit ids, and whether the reply came from the cache.
    static func search(_ k: CacheKernel, _ body: String) async throws -> (ids: [String], cached: Bool) {
        let (counts, cached) = try await accessCounts(k, body)
        return (counts.map(\.id), cached)
    }

    /// A search's hits with their access counts, best first, and whether the reply came from the cache.
    static func accessCounts(_ k: CacheKernel, _ body: String) async throws -> (hits: [(id: String, count: Int)], cached: Bool) {
        let before = try await k.stats("memory-search").int("l1", "hits")
        let reply = try await k.request("memory.items.search", body)
        #expect(reply.status == 200)
        let hits = (reply.body["hits"] as? [[String: Any]] ?? []).compactMap { $0["item"] as? [String: Any] }
        let after = try await k.stats("memory-search").int("l1", "hits")
        return (
            hits.compactMap { item in (item["id"] as? String).map { ($0, item["access_count"] as? Int ?? -1) } }, after > before
        )
    }

    /// Stores `count` items of their own words (none any test searches for, numbered from `from`)
    /// in one batch.
    static func fill(_ k: CacheKernel, _ count: Int, from: Int = 0) async throws {
        let items = (from..<from + count).map { #"{"layer":"episodic","content":"filler \#($0) alpha\#($0) omega\#($0)"}"# }
        let stored = try await k.request("memory.items.store", #"{"items":[\#(items.joined(separator: ","))]}"#)
        #expect(stored.status == 201 || stored.status == 200)
    }

    @Test func aStoreMovesTheSearchesForItsWordsOnly() async throws {
        try await Self.boot { k in
            // Enough items that a few more stay within the drift bound (1/50 of them).
            try await Self.fill(k, 500)
            let pier = try await Self.store(k, "a walk on the pier at dawn")
            let cafe = try await Self.store(k, "un café noir")
            let (plain, folded) = (#"{"query":"pier","reinforce":false}"#, #"{"query":"cafe","reinforce":false}"#)
            let prefix = #"{"query":"pie*","syntax":true,"reinforce":false}"#
            for body in [plain, folded, prefix] { _ = try await Self.search(k, body) }
            #expect(try await Self.search(k, plain) == ([pier], true))

            // A store of none of their words: the plain searches stay cached; a search in operator
            // syntax (a prefix could match any new word) does not.
            let gulls = try await Self.store(k, "gulls over the harbour")
            #expect(try await Self.search(k, plain) == ([pier], true))
            #expect(try await Self.search(k, folded) == ([cafe], true))
            #expect(try await Self.search(k, prefix) == ([pier], false))
            #expect(try await Self.search(k, prefix) == ([pier], true))

            // A store holding a word as FTS5 folds it (CAFÉ is cafe): that search sees it.
            let second = try await Self.store(k, "CAFÉ au lait")
            let refreshed = try await Self.search(k, folded)
            #expect(Set(refreshed.ids) == [cafe, second] && !refreshed.cached)
            #expect(try await Self.search(k, plain) == ([pier], true))
            #expect(try await Self.search(k, prefix) == ([pier], false))

            // Any other write moves every search: a delete of an item in no reply.
            #expect(try await k.request("memory.items.delete", #"{"id":"\#(gulls)"}"#).status == 204)
            #expect(try await Self.search(k, plain) == ([pier], false))
        }
    }

    @Test func insertedItemsMoveEverySearchOnceTheyAddAFiftiethOfTheItems() async throws {
        try await Self.boot { k in
            try await Self.fill(k, 100)
            let pier = try await Self.store(k, "a walk on the pier at dawn")
            let body = #"{"query":"pier","reinforce":false}"#
            _ = try await Self.search(k, body)
            #expect(try await Self.search(k, body) == ([pier], true))
            // Two more unrelated items are within 1/50 of the 101; the third is not: BM25's
            // statistics of the cached reply would lag further behind.
            try await Self.fill(k, 1, from: 100)
            try await Self.fill(k, 1, from: 101)
            #expect(try await Self.search(k, body) == ([pier], true))
            try await Self.fill(k, 1, from: 102)
            #expect(try await Self.search(k, body) == ([pier], false))
            #expect(try await Self.search(k, body) == ([pier], true))
        }
    }

    @Test func aRetrievalMovesTheSearchesForItsItemsWordsOnly() async throws {
        try await Self.boot { k in
            let pier = try await Self.store(k, "a walk on the pier at dawn")
            let harbour = try await Self.store(k, "the harbour at night")
            let (pierBody, harbourBody) = (#"{"query":"pier","reinforce":false}"#, #"{"query":"harbour","reinforce":false}"#)
            for body in [pierBody, harbourBody] { _ = try await Self.search(k, body) }
            #expect(try await Self.search(k, pierBody) == ([pier], true))
            // A default (reinforcing) search for "dawn" retrieves the pier item: the cached
            // "pier" search would show its old access count; the "harbour" one is unaffected.
            #expect(try await k.request("memory.items.search", #"{"query":"dawn"}"#).status == 200)
            let after = try await Self.accessCounts(k, pierBody)
            #expect(!after.cached && after.hits.map(\.count) == [1])
            #expect(try await Self.search(k, harbourBody) == ([harbour], true))
            // A get moves the searches for its item's words too.
            #expect(try await k.request("memory.items.get", #"{"id":"\#(harbour)"}"#).status == 200)
            let got = try await Self.accessCounts(k, harbourBody)
            #expect(!got.cached && got.hits.map(\.count) == [1])
            #expect(try await Self.search(k, pierBody) == ([pier], true))
        }
    }

    @Test func aStoreThatPushesTheOldestOutOfItsLayerMovesEverySearch() async throws {
        let memory = TestKernel.Plugin(
            "memory", path: try TestPlugins.library("Memory"), required: true,
            config: "layers:\n  working: {capacity: 2}")
        let k = try await CacheKernel.boot(config: Self.config, others: [memory])
        try await withStopping(k, stop: { await $0.stop() }) { k in
            func store(_ content: String) async throws -> String {
                let stored = try await k.request("memory.items.store", #"{"layer":"working","content":"\#(content)"}"#)
                #expect(stored.status == 201)
                return (stored.body["item"] as? [String: Any])?["id"] as? String ?? ""
            }
            let kite = try await store("a kite over the dunes")
            _ = try await store("sand in the shoes")
            let body = #"{"query":"kite","reinforce":false}"#
            _ = try await Self.search(k, body)
            #expect(try await Self.search(k, body) == ([kite], true))
            // A third item in a layer of two: the kite goes, though the new item has no word of it.
            _ = try await store("waves at noon")
            #expect(try await Self.search(k, body) == ([], false))
        }
    }

    /// Random stores, updates, deletes, evictions and retrievals (gets, reinforcing searches)
    /// between searches: every search through the cache finds exactly the items, with the same
    /// access counts, that a search bypassing it finds (a body over 480 bytes is never cached). A
    /// limit above the corpus: which items match cannot drift, only their scores.
    @Test func cachedSearchesMatchUncachedOnesThroughRandomWrites() async throws {
        let memory = TestKernel.Plugin(
            "memory", path: try TestPlugins.library("Memory"), required: true, config: "layers:\n  working: {capacity: 4}")
        let k = try await CacheKernel.boot(config: Self.config, others: [memory])
        try await withStopping(k, stop: { await $0.stop() }) { k in
            let words = ["amber", "birch", "cedar", "dune", "ember", "fjord", "glade", "heath", "Île", "jåde"]
            var rng = SplitMix64(seed: 2026)
            var ids: [String] = []
            func text() -> String {
                (0..<Int(rng.next() % 3 + 2)).map { _ in words[Int(rng.next() % 10)] }.joined(separator: " ")
            }
            var (hits, searches) = (0, 0)
            // A few searches, repeated, so the cache has something to answer.
            let queries: [(query: String, syntax: Bool, mode: String)] = [
                ("amber", false, "any"), ("cedar dune", false, "any"), ("ember fjord", false, "all"), ("Île", false, "any"),
                ("ile jade", false, "any"), ("gla*", true, "any"), ("heath birch", false, "all"),
                (#"\"amber birch\""#, true, "any"),
            ]
            for step in 0..<400 {
                switch rng.next() % 20 {
                case 0...4:
                    let layer = rng.next() % 3 == 0 ? "working" : "episodic"
                    let stored = try await k.request("memory.items.store", #"{"layer":"\#(layer)","content":"\#(text())"}"#)
                    #expect(stored.status == 201 || stored.status == 200, "step \(step)")  // 200: merged into a near-duplicate
                    if stored.status == 201, let id = (stored.body["item"] as? [String: Any])?["id"] as? String { ids.append(id) }
                case 5 where !ids.isEmpty:
                    let id = ids[Int(rng.next() % UInt64(ids.count))]
                    let status = try await k.request("memory.items.update", #"{"id":"\#(id)","content":"\#(text())"}"#).status
                    #expect(status == 200 || status == 404, "step \(step)")
                case 6 where !ids.isEmpty:
                    let id = ids.remove(at: Int(rng.next() % UInt64(ids.count)))
                    let status = try await k.request("memory.items.delete", #"{"id":"\#(id)"}"#).status
                    #expect(status == 204 || status == 404, "step \(step)")
                case 7 where !ids.isEmpty:
                    // A retrieval: its item's access count changes.
                    let id = ids[Int(rng.next() % UInt64(ids.count))]
                    let status = try await k.request("memory.items.get", #"{"id":"\#(id)"}"#).status
                    #expect(status == 200 || status == 404, "step \(step)")
                case 8:
                    let word = words[Int(rng.next() % 10)]
                    #expect(try await k.request("memory.items.search", #"{"query":"\#(word)","limit":3}"#).status == 200)
                default:
                    let (q, syntax, mode) = queries[Int(rng.next() % UInt64(queries.count))]
                    let body = #"{"query":"\#(q)","syntax":\#(syntax),"mode":"\#(mode)","limit":100,"reinforce":false}"#
                    let uncached = body.dropLast() + String(repeating: " ", count: 500) + "}"
                    let through = try await Self.accessCounts(k, body)
                    let fresh = try await Self.accessCounts(k, String(uncached))
                    #expect(!fresh.cached)
                    let (seen, expected) = (
                        Dictionary(uniqueKeysWithValues: through.hits), Dictionary(uniqueKeysWithValues: fresh.hits)
                    )
                    #expect(seen == expected, "step \(step): \(body), through the cache: \(through.cached ? "a hit" : "a miss")")
                    searches += 1
                    if through.cached { hits += 1 }
                }
            }
            // The comparison means something only if the cache answered a good share.
            #expect(searches > 100 && hits >= 20, "\(hits) hits of \(searches)")  // 38 of 216 with this seed
        }
    }

    /// Calls the `memory.search` service table (jamey/memory.h) as another plugin would.
    static func searchThroughTable(_ k: CacheKernel, _ body: String) throws -> (Int32, String) {
        let service = try #require(k.test.kernel.services.service(named: "memory.search"))
        let table = service.table.load(as: jamey_memory_v1.self)
        return callWithReply(body) { request, length, reply, user in
            table.search?(table.context, request, length, reply, user) ?? -1
        }
    }

    /// Searches through the service table share the cache with the bus topic, and see every write.
    @Test func searchesThroughTheServiceTableAreCachedToo() async throws {
        try await Self.boot { k in
            let first = try await Self.store(k, "the harbour master's ledger")
            let body = #"{"query":"harbour","reinforce":false}"#
            let before = try await k.stats("memory-search").int("l1", "hits")
            let (status, text) = try Self.searchThroughTable(k, body)
            #expect(status == 200)
            #expect(text.contains(first))
            #expect(try Self.searchThroughTable(k, body).1 == text)
            #expect(try await k.stats("memory-search").int("l1", "hits") == before + 1, "the second call was a hit")
            // The bus topic with the same body finds the same entry.
            #expect(try await k.request("memory.items.search", body).status == 200)
            #expect(try await k.stats("memory-search").int("l1", "hits") == before + 2)
            // A write: the table's next search sees it.
            let second = try await Self.store(k, "a harbour crane at night")
            let (_, after) = try Self.searchThroughTable(k, body)
            #expect(after.contains(first) && after.contains(second), "\(after)")
        }
    }

    /// Two search bodies that differ only in how an accent is encoded are two cache entries (the
    /// cache tells keys apart by bytes), and both find the item: the memory plugin composes
    /// filters (NFC) as it composed the stored tag. Before, the cache took the two bodies for one
    /// key, and the plugin compared tags by bytes, so the search for the decomposed tag cached
    /// an empty reply that the composed one was then answered with.
    @Test func bodiesThatDifferOnlyInTheirBytesAreTwoEntriesAndBothFindTheItem() async throws {
        try await Self.boot { k in
            let stored = try await k.request(
                "memory.items.store", #"{"layer":"episodic","content":"trip notes","tags":["caf\u00e9"]}"#)
            #expect(stored.status == 201)
            func hits(_ tag: String) async throws -> Int {
                let reply = try await k.request(
                    "memory.items.search", #"{"query":"trip","tags":["\#(tag)"],"reinforce":false}"#)
                return (reply.body["hits"] as? [Any])?.count ?? -1
            }
            // The bodies carry the characters themselves (escapes would differ as text anyway).
            #expect(try await hits("cafe\u{301}") == 1)
            #expect(try await hits("caf\u{e9}") == 1)
            let stats = try await k.stats("memory-search")
            #expect(stats.int("l1", "entries") == 2)
            #expect(stats.int("l1", "hits") == 0)
            #expect(try await hits("cafe\u{301}") == 1)
            #expect(try await k.stats("memory-search").int("l1", "hits") == 1)
        }
    }

    /// An expiry read from the memory file may be any number: a hit expiring in 1e300 seconds is
    /// cached for the usual 30 s (converting its distance to Int64 milliseconds stopped the process).
    @Test func aHitWithAnExpiryFarAwayIsCachedForTheUsualTime() async throws {
        try await Self.boot { k in
            let id = try await Self.store(k, "the distant lighthouse")
            let path = k.test.kernel.dataDirectory + "/memory/memory.sqlite"
            try await DatabasePool(path: path).write { db in
                try db.execute(sql: "UPDATE items SET expires_at = 1e300 WHERE id = ?", arguments: [id])
            }
            #expect(try await Self.ids(k, "lighthouse") == [id])
            #expect(try await Self.ids(k, "lighthouse") == [id])
            #expect(try await k.stats("memory-search").int("l1", "hits") == 1)
        }
    }

    @Test func theSameBodyIsAHitAndReinforcingSearchesAreNotCached() async throws {
        try await Self.boot { k in
            _ = try await Self.store(k, "the lighthouse keeper")
            let body = #"{"query":"lighthouse","reinforce":false,"limit":5}"#
            _ = try await k.request("memory.items.search", body)
            let hits = try await k.stats("memory-search").int("l1", "hits")
            let same = try await k.request("memory.items.search", body)
            #expect((same.body["hits"] as? [Any])?.count == 1)
            #expect(try await k.stats("memory-search").int("l1", "hits") == hits + 1)
            let reordered = try await k.request("memory.items.search", #"{"limit":5,"reinforce":false,"query":"lighthouse"}"#)
            #expect((reordered.body["hits"] as? [Any])?.count == 1, "another body: its own entry, the same results")
            #expect(try await k.stats("memory-search").int("l1", "hits") == hits + 1)
            // A reinforcing search changes access counts, so it is neither cached nor served from the cache.
            let counted = try await k.request("memory.items.search", #"{"query":"lighthouse","limit":5}"#)
            #expect((counted.body["hits"] as? [Any])?.count == 1)
            #expect(try await k.stats("memory-search").int("l1", "hits") == hits + 1)
            let again = try await k.request("memory.items.search", #"{"query":"lighthouse","reinforce":false,"limit":5}"#)
            let seen = (again.body["hits"] as? [[String: Any]])?.first?["item"] as? [String: Any]
            #expect(seen?["access_count"] as? Int == 1, "the reinforcement is seen: not the reply cached before it")
        }
    }
}
