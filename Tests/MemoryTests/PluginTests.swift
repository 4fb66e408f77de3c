import Foundation
import GRDB
import JameyKernel
import JameyTestKit
import Testing

@testable import MemoryPlugin

/// The plugin loaded from libMemory.so: every operation over the bus, errors as problem replies,
/// health, metrics and snapshot/restore through the kernel.
@Suite struct PluginTests {
    /// Texts are stored and searched in Unicode's composed form (NFC), so a text is found however
    /// its characters are encoded: FTS5 tells "서울" in precomposed syllables and in conjoining
    /// jamo apart, the pending items' index (Swift strings) did not, so a search found an item
    /// while it was pending and lost it once merged; a tag filter compared bytes, and a merged
    /// near-duplicate dropped a tag that differed only so.
    @Test func textsAreFoundHoweverTheirCharactersAreEncoded() async throws {
        let seoul = "\u{C11C}\u{C6B8}"
        let jamo = seoul.decomposedStringWithCanonicalMapping
        #expect(Array(jamo.unicodeScalars).count == 5)
        let cafe = "caf\u{e9}"
        let decomposed = "cafe\u{301}"
        try await MemoryKernel.with() { k in
            let stored = try await k.request(
                "memory.items.store",
                #"{"layer":"episodic","content":"a long weekend trip to \#(jamo) in spring","tags":["\#(decomposed)"]}"#)
            #expect(stored.status == 201)
            let item = try #require(stored.body["item"] as? [String: Any])
            #expect(
                (item["content"] as? String).map { Array($0.unicodeScalars) }
                    == Array("a long weekend trip to \(seoul) in spring".unicodeScalars))
            func found(_ query: String, tag: String? = nil) async throws -> Int {
                let filter = tag.map { #","tags":["\#($0)"]"# } ?? ""
                let reply = try await k.request("memory.items.search", #"{"query":"\#(query)","reinforce":false\#(filter)}"#)
                return (reply.body["hits"] as? [Any])?.count ?? -1
            }
            #expect(try await found(seoul) == 1, "pending")
            #expect(try await found(jamo) == 1)
            #expect(try await k.request("memory.consolidate").status == 200)
            #expect(try await found(seoul) == 1, "merged into FTS5")
            #expect(try await found(jamo) == 1)
            #expect(try await found("trip", tag: cafe) == 1)
            #expect(try await found("trip", tag: decomposed) == 1)
            let listed = try await k.request("memory.items.list", #"{"tags":["\#(cafe)"]}"#)
            #expect((listed.body["items"] as? [Any])?.count == 1)
            let merged = try await k.request(
                "memory.items.store",
                #"{"layer":"episodic","content":"a long weekend trip to \#(seoul) in spring","tags":["\#(cafe)"]}"#)
            #expect(merged.body["merged"] as? Bool == true)
            #expect(((merged.body["item"] as? [String: Any])?["tags"] as? [String])?.count == 1)
        }
    }

    /// A store merged into an existing near-duplicate (the default `duplicates: merge`) adds its
    /// links to the existing item's, as consolidation moves them; the reply, single or batch,
    /// shows the item's links after the store. Until session 35 the new item's links were
    /// dropped, and replies showed none for a merged item or any item of a batch.
    @Test func aMergedStoreKeepsItsLinksAndRepliesShowThem() async throws {
        try await MemoryKernel.with() { k in
            let text = "the meeting with the design team moved from tuesday morning to thursday afternoon in room"
            let first = try await k.request(
                "memory.items.store",
                #"{"layer":"episodic","content":"\#(text) four","links":[{"kind":"entity","target":"alice","relation":"met"}]}"#)
            #expect(first.status == 201)
            let id = try #require((first.body["item"] as? [String: Any])?["id"] as? String)
            let second = try await k.request(
                "memory.items.store",
                #"{"layer":"episodic","content":"\#(text) five","links":[{"kind":"entity","target":"bob"},{"kind":"entity","target":"alice","relation":"other"}]}"#
            )
            #expect(second.status == 200)
            #expect(second.body["merged"] as? Bool == true)
            func targets(_ item: [String: Any]?) -> [String] {
                ((item?["links"] as? [[String: Any]]) ?? []).map { "\($0["target"] ?? "")/\($0["relation"] ?? "")" }.sorted()
            }
            #expect(targets(second.body["item"] as? [String: Any]) == ["alice/met", "bob/"])
            #expect(targets(try await k.request("memory.items.get", #"{"id":"\#(id)"}"#).body) == ["alice/met", "bob/"])
            let batch = try await k.request(
                "memory.items.store",
                #"{"items":[{"layer":"episodic","content":"\#(text) six","links":[{"kind":"entity","target":"carol"}]},{"content":"dinner alone","links":[{"kind":"item","target":"\#(id)","relation":"after"}]}]}"#
            )
            let results = try #require(batch.body["results"] as? [[String: Any]])
            #expect(results.map { $0["merged"] as? Bool } == [true, false])
            #expect(targets(results[0]["item"] as? [String: Any]) == ["alice/met", "bob/", "carol/"])
            #expect(targets(results[1]["item"] as? [String: Any]) == ["\(id)/after"])
        }
    }

    @Test func everyOperationOverTheBus() async throws {
        try await MemoryKernel.with() { k in
            let stored = try await k.request(
                "memory.items.store",
                #"{"layer":"episodic","content":"lunch with Grace at the pier","tags":["food"],"importance":0.7,"links":[{"kind":"entity","target":"grace"}]}"#
            )
            #expect(stored.status == 201)
            let item = try #require(stored.body["item"] as? [String: Any])
            let id = try #require(item["id"] as? String)
            #expect(item["source"] as? String == "test")
            let batch = try await k.request(
                "memory.items.store",
                #"{"items":[{"content":"dinner alone"},{"content":"breakfast at the pier","layer":"working"}]}"#)
            #expect(batch.status == 201)
            #expect((batch.body["results"] as? [Any])?.count == 2)
            let got = try await k.request("memory.items.get", #"{"id":"\#(id)"}"#)
            #expect(got.body["access_count"] as? Int == 1)
            #expect((got.body["links"] as? [[String: Any]])?.first?["target"] as? String == "grace")
            let found = try await k.request("memory.items.search", #"{"query":"pier","reinforce":false}"#)
            #expect((found.body["hits"] as? [Any])?.count == 2)
            let filtered = try await k.request("memory.items.search", #"{"query":"pier","layers":["episodic"],"tags":["food"]}"#)
            let hits = try #require(filtered.body["hits"] as? [[String: Any]])
            #expect(hits.count == 1)
            #expect((hits.first?["item"] as? [String: Any])?["id"] as? String == id)
            let updated = try await k.request("memory.items.update", #"{"id":"\#(id)","importance":0.2}"#)
            #expect(updated.body["importance"] as? Double == 0.2)
            let listed = try await k.request("memory.items.list", #"{"layer":"episodic"}"#)
            #expect((listed.body["items"] as? [Any])?.count == 1)
            let report = try await k.request("memory.consolidate")
            #expect(report.status == 200)
            #expect(report.body["promoted"] != nil)
            let deleted = try await k.request("memory.items.delete", #"{"id":"\#(id)"}"#)
            #expect(deleted.status == 204)
            let missing = try await k.request("memory.items.get", #"{"id":"\#(id)"}"#)
            #expect(missing.status == 404)
            #expect(missing.contentType == "application/problem+json")
            #expect(missing.body["type"] as? String == "urn:jamey:problem:not-found")
        }
    }

    /// Capacity evictions, consolidation's merges and its promotions are counted per layer
    /// (promotions per move), as the reply reports them.
    @Test func evictionsMergesAndPromotionsAreCountedPerLayer() async throws {
        let config = """
            duplicates: allow
            consolidation_interval_ms: 0
            layers:
              working: {capacity: 2}
            promotion: {episodic_accesses: 3, episodic_importance: 0.7, semantic_accesses: 5, long_term_importance: 0.9}
            """
        try await MemoryKernel.with(config: config) { k in
            let working = (1...5).map { #"{"layer":"working","content":"working note \#($0)"}"# }
            #expect(try await k.request("memory.items.store", #"{"items":[\#(working.joined(separator: ","))]}"#).status == 201)
            let evicted = k.test.kernel.metrics.exposition()
            #expect(labelled(evicted, "memory_evicted_total", ("layer", "working")) == 3, "five stored, two kept")
            #expect(labelled(evicted, "memory_evicted_total", ("layer", "short_term")) == 0)
            let twice = "the quarterly planning meeting moved to thursday afternoon in room four"
            let items = [
                #"{"layer":"short_term","content":"renew the passport","importance":0.95}"#,
                #"{"layer":"short_term","content":"call the plumber","importance":0.75}"#,
                #"{"layer":"episodic","content":"met Ada at the station","importance":0.95}"#,
                #"{"layer":"semantic","content":"\#(twice)"}"#,
                #"{"layer":"semantic","content":"\#(twice)"}"#,
            ]
            #expect(try await k.request("memory.items.store", #"{"items":[\#(items.joined(separator: ","))]}"#).status == 201)
            let report = try await k.request("memory.consolidate")
            #expect(report.status == 200, "\(report.body)")
            #expect(report.body["merged"] as? [String: Int] == ["semantic": 1])
            #expect(
                report.body["promoted"] as? [String: Int]
                    == ["short_term->long_term": 1, "short_term->episodic": 1, "episodic->long_term": 1])
            let text = k.test.kernel.metrics.exposition()
            #expect(labelled(text, "memory_consolidations_total") == 1)
            #expect(labelled(text, "memory_merged_total", ("layer", "semantic")) == 1)
            #expect(labelled(text, "memory_merged_total", ("layer", "long_term")) == 0)
            for (from, to, n) in [
                ("short_term", "long_term", 1.0), ("short_term", "episodic", 1), ("episodic", "long_term", 1),
                ("episodic", "semantic", 0),
            ] {
                #expect(labelled(text, "memory_promoted_total", ("from", from), ("to", to)) == n, "\(from)->\(to)")
            }
        }
    }

    @Test func badRequestsAreProblemReplies() async throws {
        try await MemoryKernel.with(config: "max_content_bytes: 16") { k in
            let bad = try await k.request("memory.items.search", #"{"query":"(open","syntax":true}"#)
            #expect(bad.status == 400)
            #expect(bad.body["type"] as? String == "urn:jamey:problem:bad-query")
            #expect(try await k.request("memory.items.store", #"{"content":"far too long for sixteen bytes"}"#).status == 413)
            #expect(try await k.request("memory.items.store", #"{"content":"x","layer":"nowhere"}"#).status == 400)
            #expect(try await k.request("memory.items.store", "not json").status == 400)
            #expect(try await k.request("memory.items.list").body["items"] as? [Any] != nil)
            #expect((try await k.request("memory.items.list").body["items"] as? [Any])?.isEmpty == true)
        }
    }

    /// A misspelt optional member was dropped without a word and its default used (an item
    /// "importnace": 0.9 stored at 0.5; a list filtered by "layers=" over HTTP listed every
    /// layer), and a repeated one meant its first value here and its last in the cache and the
    /// soul. Each is now a 400 naming the member and where it is, and nothing is stored or changed;
    /// so is a member that is `null`, which no request schema allows (it was read as absent).
    @Test func unknownAndRepeatedMembersAreRefusedAndNothingChanges() async throws {
        try await MemoryKernel.with(http: true) { k in
            let kept = try await k.request("memory.items.store", #"{"content":"kept item","tags":["a"]}"#)
            let id = try #require((kept.body["item"] as? [String: Any])?["id"] as? String)
            let refused: [(String, String, String)] = [
                ("memory.items.store", #"{"content":"x","importnace":0.9}"#, "the body: unknown member 'importnace'"),
                ("memory.items.store", #"{"content":"x","id":"mine"}"#, "the body: unknown member 'id'"),
                (
                    "memory.items.store", #"{"items":[{"content":"a"},{"content":"b","colour":1}]}"#,
                    "items[1]: unknown member 'colour'"
                ),
                ("memory.items.store", #"{"items":[{"content":"a"}],"content":"b"}"#, "the body: unknown member 'content'"),
                (
                    "memory.items.store", #"{"content":"x","links":[{"kind":"entity","target":"bob","weight":1}]}"#,
                    "links[0]: unknown member 'weight'; expected kind, relation, target"
                ),
                ("memory.items.store", #"{"content":"x","content":"y"}"#, "member 'content' appears more than once"),
                (
                    "memory.items.store", #"{"content":"x","tags":["a"],"t\u0061gs":["b"]}"#,
                    "member 'tags' appears more than once"
                ),
                ("memory.items.store", #"{"items":[{"content":"a","layer":"working","layer":"long_term"}]}"#, "member 'layer'"),
                ("memory.items.update", #"{"id":"\#(id)","conten":"changed"}"#, "the body: unknown member 'conten'"),
                ("memory.items.update", #"{"id":"\#(id)","content":"a","content":"b"}"#, "member 'content' appears"),
                ("memory.items.get", #"{"id":"\#(id)","query":"kept"}"#, "the body: unknown member 'query'; expected id"),
                ("memory.items.delete", #"{"id":"\#(id)","layer":"working"}"#, "the body: unknown member 'layer'; expected id"),
                ("memory.items.list", #"{"layer":"working","query":"kept"}"#, "the body: unknown member 'query'"),
                ("memory.items.search", #"{"query":"kept","limt":5}"#, "the body: unknown member 'limt'"),
                ("memory.items.search", #"{"query":"kept","query":"other"}"#, "member 'query' appears more than once"),
                ("memory.items.store", #"{"content":"x","links":null}"#, "links: expected a value, found null"),
                ("memory.items.store", #"{"content":"x","colour":null}"#, "the body: unknown member 'colour'"),
                (
                    "memory.items.store", #"{"items":[{"content":"x","tags":null}]}"#,
                    "items[0].tags: expected a value, found null"
                ),
                ("memory.items.search", #"{"query":"kept","limit":null}"#, "limit: expected a value, found null"),
                (
                    "memory.items.search", #"{"query":"kept","since":"2024-01-01T12:99:00Z"}"#,
                    "since must be an ISO 8601 time"
                ),
            ]
            for (topic, body, detail) in refused {
                let r = try await k.request(topic, body)
                #expect(r.status == 400, "\(topic) \(body): \(r.status)")
                #expect((r.body["detail"] as? String)?.contains(detail) == true, "\(body): \(r.body)")
            }
            let misspelt = try await k.http("GET", "/v1/memory/items?layers=episodic")
            #expect(misspelt.status == 400)
            #expect(
                misspelt.body["detail"] as? String
                    == "unknown query parameter 'layers'; expected layer, tag, source, since, until, limit")
            #expect(try await k.http("GET", "/v1/memory/items?limit").status == 400)
            let elsewhere = try await k.http("PATCH", "/v1/memory/items/\(id)", body: #"{"id":"another","content":"changed"}"#)
            #expect(elsewhere.status == 400)
            #expect(elsewhere.body["detail"] as? String == "id: the body says 'another' but the path says '\(id)'")
            let listed = try #require(try await k.request("memory.items.list").body["items"] as? [[String: Any]])
            #expect(listed.map { $0["content"] as? String } == ["kept item"], "nothing else stored, nothing changed")
            #expect(listed.first?["tags"] as? [String] == ["a"])
            let same = try await k.http("PATCH", "/v1/memory/items/\(id)", body: #"{"id":"\#(id)","importance":0.9}"#)
            #expect(same.status == 200, "an id that agrees with the path is taken: \(same.raw)")
            let filtered = try await k.http("GET", "/v1/memory/items?layer=short_term&limit=5")
            #expect((filtered.body["items"] as? [[String: Any]])?.count == 1)
        }
    }

    /// UTF-8 JSON only, as the other plugins: JSONDecoder took UTF-16 and UTF-32 bodies too.
    @Test func aBodyThatIsNotUTF8IsRefusedAndNothingIsStored() async throws {
        try await MemoryKernel.with() { k in
            let text = #"{"content":"sixteen bits"}"#
            let utf16 = Array(text.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            let bus = k.test.bus
            for payload in [utf16, [0xFF, 0xFE] + utf16] {
                let reply = try await onThread {
                    try bus.requestSync(
                        BusMessage(topic: "memory.items.store", payload: payload, contentType: "application/json"),
                        timeout: .seconds(30))
                }
                #expect(reply.headers.first { $0.key == "status" }?.value == "400")
                #expect(String(decoding: reply.payload, as: UTF8.self).contains("UTF-8"))
            }
            let listed = try #require(try await k.request("memory.items.list").body["items"] as? [[String: Any]])
            #expect(listed.isEmpty, "nothing stored")
        }
    }

    /// SQLite keeps bound text only up to its first NUL: an item's content "x\u0000y" was stored
    /// as "x" while the reply showed all of it. Every text field holding U+0000 is now a 400 naming
    /// the field, and nothing is stored.
    @Test func textHoldingNULIsRefusedAndNothingIsStored() async throws {
        try await MemoryKernel.with() { k in
            let kept = try await k.request("memory.items.store", #"{"content":"kept item","tags":["a"],"source":"s"}"#)
            let id = try #require((kept.body["item"] as? [String: Any])?["id"] as? String)
            let refused: [(String, String, String)] = [
                ("memory.items.store", #"{"content":"x\u0000y"}"#, "content"),
                ("memory.items.store", #"{"items":[{"content":"fine"},{"content":"z","tags":["a\u0000b"]}]}"#, "tags"),
                ("memory.items.store", #"{"content":"x","source":"s\u0000t"}"#, "source"),
                ("memory.items.store", #"{"content":"x","links":[{"kind":"entity","target":"bob\u0000x"}]}"#, "links.target"),
                (
                    "memory.items.store", #"{"content":"x","links":[{"kind":"item","target":"i","relation":"r\u0000"}]}"#,
                    "links.relation"
                ),
                ("memory.items.update", #"{"id":"\#(id)","content":"kept\u0000 item changed"}"#, "content"),
                ("memory.items.update", #"{"id":"\#(id)","tags":["a\u0000"]}"#, "tags"),
                ("memory.items.get", #"{"id":"\#(id)\u0000junk"}"#, "id"),
                ("memory.items.delete", #"{"id":"\#(id)\u0000junk"}"#, "id"),
                ("memory.items.search", #"{"query":"kept\u0000"}"#, "query"),
                ("memory.items.search", #"{"query":"kept\u0000 OR x","syntax":true}"#, "query"),
                ("memory.items.search", #"{"query":"kept","tags":["a\u0000b"]}"#, "tag"),
                ("memory.items.list", #"{"source":"s\u0000x"}"#, "source"),
            ]
            for (topic, body, field) in refused {
                let r = try await k.request(topic, body)
                #expect(r.status == 400, "\(topic) \(body): \(r.status)")
                #expect(r.body["detail"] as? String == "\(field): the character U+0000 is not allowed", "\(body)")
            }
            let listed = try #require(try await k.request("memory.items.list").body["items"] as? [[String: Any]])
            #expect(listed.map { $0["content"] as? String } == ["kept item"], "nothing else stored, nothing changed")
            #expect(listed.first?["tags"] as? [String] == ["a"])
            let fine = try await k.request("memory.items.store", #"{"content":"tab\tand\nnewline stay","tags":["t\u0001"]}"#)
            #expect(fine.status == 201, "other control characters round-trip")
            let fineID = try #require((fine.body["item"] as? [String: Any])?["id"] as? String)
            let got = try await k.request("memory.items.get", #"{"id":"\#(fineID)"}"#)
            #expect(got.body["content"] as? String == "tab\tand\nnewline stay")
            #expect(got.body["tags"] as? [String] == ["t\u{1}"])
        }
    }

    /// The checks say what the route schemas say: lengths in code points (a JSON Schema's
    /// `maxLength`), blank as every code point White_Space, and a `limit` of at least 1
    /// (schemathesis: a search with `limit: 0` was answered 200 against the schema's minimum).
    @Test func checksCountCodePointsAndRefuseALimitBelowOne() async throws {
        try await MemoryKernel.with() { k in
            _ = try await k.request("memory.items.store", #"{"content":"alpha beta"}"#)
            let zero = try await k.request("memory.items.search", #"{"query":"alpha","limit":0}"#)
            #expect(zero.status == 400)
            #expect(zero.body["detail"] as? String == "limit must be at least 1, not 0")
            #expect(try await k.request("memory.items.list", #"{"limit":-1}"#).status == 400)
            #expect(try await k.request("memory.items.search", #"{"query":"alpha","limit":1}"#).status == 200)
            // 64 characters but 65 code points (an e and a combining acute, then 63 letters).
            let tag = "e\u{301}" + String(repeating: "t", count: 63)
            let long = try await k.request("memory.items.store", #"{"content":"x","tags":["\#(tag)"]}"#)
            #expect(long.status == 400, "\(long.body)")
            // A space followed by a combining mark is one Character that Swift calls whitespace,
            // but the mark is not White_Space: not blank, as the schema's pattern says.
            let marked = try await k.request("memory.items.store", #"{"content":" \u0301"}"#)
            #expect(marked.status == 201, "\(marked.body)")
            #expect(try await k.request("memory.items.store", #"{"content":" \u3000\n"}"#).status == 400)
        }
    }

    /// Every topic, sent bodies of the wrong shape, size or type: each answer is a 2xx or a 4xx
    /// problem, never a 5xx, and the item stored before is there unchanged after.
    @Test func hostileBodiesOnEveryTopicGetClearAnswersAndChangeNothing() async throws {
        try await MemoryKernel.with() { k in
            let kept = try await k.request("memory.items.store", #"{"content":"the kept item","tags":["a"]}"#)
            let id = try #require((kept.body["item"] as? [String: Any])?["id"] as? String)
            var bodies: [String] = [
                "", "{}", "[]", #""s""#, "1", "null", "true", "not json", #"{"x":1}"#, #"{"content":1e309}"#,
                #"{"query":1e309}"#, #"{"content":null}"#, #"{"id":null}"#, #"{"limit":1e20}"#,
                #"{"limit":-9223372036854775809}"#, #"{"importance":"high","content":"x"}"#,
                #"{"items":[{"content":"fine"},{"content":7}]}"#, #"{"layer":"episodic","content":["x"]}"#,
                #"{"query":"\"unbalanced","syntax":true}"#, #"{"query":"a","since":"yesterday"}"#,
                #"{"tags":{"a":1}}"#, #"{"links":[{"kind":"nope","target":"x"}],"content":"x"}"#,
            ]
            bodies.append(#"{"id":[""# + id + #""]}"#)
            bodies.append(#"{"content":""# + String(repeating: "word ", count: 40_000) + #""}"#)
            bodies.append(#"{"query":""# + (0..<100).map { "w\($0)" }.joined(separator: " ") + #""}"#)
            let many = Array(repeating: #"{"content":"x"}"#, count: 1_001).joined(separator: ",")
            bodies.append(#"{"items":["# + many + "]}")
            bodies.append(String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000))
            let topics = [
                "memory.items.store", "memory.items.get", "memory.items.update", "memory.items.delete",
                "memory.items.list", "memory.items.search",
            ]
            for topic in topics {
                for body in bodies {
                    let r = try await k.request(topic, body)
                    #expect(r.status < 500, "\(topic) \(body.prefix(60)): \(r.status) \(r.body)")
                    if r.status >= 400 { #expect(r.contentType == "application/problem+json", "\(topic) \(body.prefix(60))") }
                }
            }
            let listed = try #require(try await k.request("memory.items.list").body["items"] as? [[String: Any]])
            #expect(listed.count == 1, "nothing stored or deleted")
            #expect(listed.first?["id"] as? String == id && listed.first?["content"] as? String == "the kept item")
            #expect(listed.first?["tags"] as? [String] == ["a"])
        }
    }

    @Test func healthMetricsAndSnapshotRestoreThroughTheKernel() async throws {
        try await MemoryKernel.with() { k in
            let kept = try await k.request("memory.items.store", #"{"content":"remember the snapshot"}"#)
            let id = try #require((kept.body["item"] as? [String: Any])?["id"] as? String)
            // The maintenance task sets it; in a full parallel run it may wait seconds for the pool.
            #expect(
                await eventually(timeout: .seconds(60)) {
                    k.test.kernel.plugin(named: "memory")?.health?.detail.hasPrefix("1 items") == true
                })
            _ = try await k.request("memory.items.search", #"{"query":"snapshot","layer":"short_term"}"#)
            let text = k.test.kernel.metrics.exposition()
            #expect(series(text, "memory_searches_total", layer: "short_term") == 1)
            #expect(series(text, "memory_stores_total", layer: "short_term") == 1)
            #expect(series(text, "memory_items", layer: "short_term") == 1)
            // The background merge took the item into FTS5: one merge, its time by phase.
            #expect(
                await eventually(timeout: .seconds(60)) {
                    labelled(k.test.kernel.metrics.exposition(), "memory_index_merged_items_total") == 1
                })
            let merged = k.test.kernel.metrics.exposition()
            #expect(labelled(merged, "memory_index_merges_total") == 1)
            for phase in ["fts", "terms", "postings", "other", "commit"] {
                #expect(labelled(merged, "memory_index_merge_phase_seconds_count", ("phase", phase)) == 1, "\(phase)")
                #expect((labelled(merged, "memory_index_merge_phase_seconds_sum", ("phase", phase)) ?? 0) > 0, "\(phase)")
            }
            // One item's postings are far below the share that makes them due to be folded.
            #expect(labelled(merged, "memory_postings_fold_seconds_count") == 0)
            let dir = try TemporaryDirectory.make(prefix: "jamey-memory-snap")
            let kernel = k.test.kernel
            try await onThread { try kernel.snapshot(plugin: "memory", into: dir) }
            #expect(FileManager.default.fileExists(atPath: dir + "/memory.sqlite"))
            _ = try await k.request("memory.items.delete", #"{"id":"\#(id)"}"#)
            _ = try await k.request("memory.items.store", #"{"content":"written after the snapshot"}"#)
            try await onThread { try kernel.restore(plugin: "memory", from: dir) }
            let listed = try await k.request("memory.items.list")
            let ids = (listed.body["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == [id])
        }
    }

    /// A snapshot whose sequence numbers the store could not have given is refused before it
    /// replaces anything: with the event counter at the largest integer, the first store after
    /// the restore overflowed it and stopped the process.
    @Test func aSnapshotWithSequencesOutOfRangeIsRefused() async throws {
        try await MemoryKernel.with() { k in
            #expect(try await k.request("memory.items.store", #"{"content":"kept through the refusal"}"#).status == 201)
            let dir = try TemporaryDirectory.make(prefix: "jamey-memory-snap")
            let kernel = k.test.kernel
            try await onThread { try kernel.snapshot(plugin: "memory", into: dir) }
            let queue = try DatabaseQueue(path: dir + "/memory.sqlite")
            try await queue.write { db in
                try db.execute(
                    sql:
                        "INSERT INTO outbox_high(id, seq) VALUES (1, 9223372036854775807) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq"
                )
            }
            try queue.close()
            await #expect(throws: KernelError.self) { try await onThread { try kernel.restore(plugin: "memory", from: dir) } }
            #expect(try await k.request("memory.items.store", #"{"content":"stored after the refusal"}"#).status == 201)
            let listed = try await k.request("memory.items.list")
            #expect((listed.body["items"] as? [[String: Any]])?.count == 2)
        }
    }

    /// A restart of the plugin (here a restore, which initialises it again) lets the old
    /// instance go: the `memory.search` table's context held its store for the life of the
    /// process, so each restart kept a database pool, its files and a checkpoint thread for good.
    @Test func restartsDoNotKeepTheOldInstancesStore() async throws {
        try await MemoryKernel.with() { k in
            #expect(try await k.request("memory.items.store", #"{"content":"one item"}"#).status == 201)
            let dir = try TemporaryDirectory.make(prefix: "jamey-memory-snap")
            let kernel = k.test.kernel
            try await onThread { try kernel.snapshot(plugin: "memory", into: dir) }
            // Files this process holds open on this kernel's memory database (each instance's
            // pool and checkpoint connection hold it and its WAL).
            let root = k.test.directory
            let open = {
                ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).filter { fd in
                    guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
                    else { return false }
                    return target.hasPrefix(root) && target.contains("memory.sqlite")
                }.count
            }
            let before = open()
            for _ in 0..<6 { try await onThread { try kernel.restore(plugin: "memory", from: dir) } }
            // A reader more or less, not six instances' connections.
            let settled = await eventually(timeout: .seconds(20)) { open() <= before + 3 }
            #expect(settled, "open files on memory.sqlite: \(before) before six restarts, \(open()) after")
            #expect(try await k.request("memory.items.list").status == 200)
        }
    }

    @Test func aStartWarmsUpWithSearchesThatChangeNothing() async throws {
        try await MemoryKernel.with() { k in
            let warmUps = { labelled(k.test.kernel.metrics.exposition(), "memory_warmup_searches_total") ?? -1 }
            #expect(warmUps() == 0, "an empty store has nothing to search")
            let stored = try await k.request(
                "memory.items.store", #"{"layer":"long_term","content":"kelp forests sway beneath sleeping otters"}"#)
            let id = try #require((stored.body["item"] as? [String: Any])?["id"] as? String)
            // Stopped and started again by reloads: the new start searches the newest item's words.
            let path = try TestPlugins.library("Memory")
            let test = k.test
            for enabled in [false, true] {
                let memory = TestKernel.Plugin("memory", path: path, enabled: enabled)
                _ = try await onThread { try test.reload(plugins: [memory]) }
            }
            #expect(warmUps() >= 2, "an infrequent word, and two together")
            // Not searches anybody made: not counted as searches, and no retrieval of the item.
            let text = k.test.kernel.metrics.exposition()
            for layer in ["long_term", "all"] { #expect(series(text, "memory_searches_total", layer: layer) == 0, "\(layer)") }
            let listed = try await k.request("memory.items.list", #"{"layer":"long_term"}"#)
            let item = try #require((listed.body["items"] as? [[String: Any]])?.first)
            #expect(item["id"] as? String == id)
            #expect(item["access_count"] as? Int == 0)
        }
    }
}

/// The value of `name{...layer="<layer>"...,plugin="memory"...}` in a Prometheus exposition.
func series(_ exposition: String, _ name: String, layer: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(name + "{") {
        guard line.contains("layer=\"\(layer)\""), line.contains("plugin=\"memory\""), let value = line.split(separator: " ").last
        else { continue }
        return Double(value)
    }
    return nil
}

/// The value of `name{...,plugin="memory",...}` with each of `labels` in a Prometheus exposition.
func labelled(_ exposition: String, _ name: String, _ labels: (String, String)...) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        guard line.contains("plugin=\"memory\""), labels.allSatisfy({ line.contains("\($0.0)=\"\($0.1)\"") }),
            let value = line.split(separator: " ").last
        else { continue }
        return Double(value)
    }
    return nil
}

/// `merge_batch`: read as the kit reads the plugin's section, and held to its range by the
/// manifest.
extension PluginTests {
    @Test func mergeBatchIsReadFromTheConfigAndKeptInItsRange() async throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let configuration = try decoder.decode(MemoryConfiguration.self, from: Data(#"{"merge_batch": 250}"#.utf8))
        #expect(try configuration.settings().mergeBatch == 250)
        #expect(try decoder.decode(MemoryConfiguration.self, from: Data("{}".utf8)).settings().mergeBatch == 10_000)

        let refused = await MemoryKernel.refusal(config: "merge_batch: 50")
        #expect(refused?.contains("merge_batch") == true, "\(refused ?? "booted")")
        try await MemoryKernel.with(config: "merge_batch: 100") { k in
            let batch = (0..<250).map { #"{"content":"merge batch item \#($0)"}"# }.joined(separator: ",")
            #expect(try await k.request("memory.items.store", #"{"items":[\#(batch)]}"#).status == 201)
            let found = try await k.request("memory.items.search", #"{"query":"merge batch item","limit":1000}"#)
            #expect((found.body["hits"] as? [Any])?.count == 250)
        }
    }
}
