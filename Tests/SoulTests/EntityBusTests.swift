import ConsciousnessTestSupport
import Foundation
import GRDB
import JameyKernel
import JameyTestKit
import Testing

/// Jamey 3.0's `soul upsert | record | status | decay | delete` as bus operations.
@Suite struct EntityBusTests {
    @Test func upsertGetListAndDelete() async throws {
        try await PluginKernel.with([try Plugins.soul()]) { k in
            let created = try await k.request("soul.entities.upsert", #"{"name":"alice","trust":0.9}"#)
            #expect(created.status == 201)
            #expect(created.number("trust") == 0.9)
            #expect(created.number("decay_rate") == 0.01)
            let bob = try await k.request("soul.entities.upsert", #"{"name":"bob"}"#)
            #expect(bob.number("trust") == 0.5)
            let changed = try await k.request("soul.entities.upsert", #"{"name":"bob","trust":0.2,"decay_rate":0.05}"#)
            #expect(changed.status == 200)
            #expect(changed.number("decay_rate") == 0.05)
            _ = try await k.request("soul.emotions.record", #"{"name":"bob","emotion":"awe"}"#)
            _ = try await k.request("soul.memories.link", #"{"name":"bob","memory_id":"m7"}"#)
            let list = try await k.request("soul.entities.list")
            let entities = list.json["entities"] as? [[String: Any]] ?? []
            #expect(entities.compactMap { $0["name"] as? String } == ["alice", "bob"])
            #expect(entities.last?["emotions"] as? [String: Int] == ["General(awe)": 1])
            #expect(entities.last?["linked_memories"] as? [String] == ["m7"])
            #expect(entities.first?["emotions"] as? [String: Int] == [:])
            let got = try await k.request("soul.entities.get", #"{"name":"bob"}"#)
            #expect(got.number("trust") == 0.2)
            #expect(got.json["empathy"] as? Double == 0.5)
            #expect(try await k.request("soul.entities.delete", #"{"name":"bob"}"#).status == 204)
            // Jamey 3.0 printed success for a missing entity; now it is a 404.
            let again = try await k.request("soul.entities.delete", #"{"name":"bob"}"#)
            #expect(again.status == 404)
            #expect(again.json["detail"] as? String == "no entity named 'bob'")
            #expect(metric(k.exposition, "soul_entities") == 1)
        }
    }

    @Test func recordingLoveThreeTimesFollowsJameyFormula() async throws {
        try await PluginKernel.with([try Plugins.soul()]) { k in
            var last = BusReply?.none
            for _ in 0..<3 { last = try await k.request("soul.emotions.record", #"{"name":"kid","emotion":"love"}"#) }
            let reply = try #require(last)
            #expect(reply.json["emotion"] as? String == "PaternalLove")
            #expect(abs((reply.number("trust_change") ?? 0) - 0.15) < 1e-9)
            let entity = try #require(reply.json["entity"] as? [String: Any])
            #expect(abs((entity["trust"] as? Double ?? 0) - 0.95) < 1e-9)
            #expect(entity["decay_rate"] as? Double == 0.005)
            #expect(entity["dominant_emotion"] as? String == "PaternalLove")
            #expect(entity["emotions"] as? [String: Int] == ["PaternalLove": 3])
            #expect(metric(k.exposition, "soul_emotions_recorded_total", #"source="direct""#) == 3)
        }
    }

    /// Jamey 3.0's worked example: ten days at 0.01 a day take 0.5 to 0.40, and a second decay
    /// as of the same time changes nothing. The entity's times are moved ten days and an hour
    /// back in its file between two runs, and the decays are as of an hour ago.
    @Test func decayTwiceInARowEqualsDecayOnce() async throws {
        let dataDir = try TemporaryDirectory.make()
        try await PluginKernel.with([try Plugins.soul()], dataDir: dataDir) { k in
            _ = try await k.request("soul.entities.upsert", #"{"name":"alice"}"#)
        }
        let back = 10 * 86_400 + 3_600
        try await openStopped(dataDir + "/soul/soul.sqlite").write { db in
            try db.execute(
                sql: """
                    UPDATE soul_entities SET created_at = created_at - ?, last_interaction = last_interaction - ?,
                      last_decayed_at = last_decayed_at - ?
                    """, arguments: [back, back, back])
        }
        try await PluginKernel.with([try Plugins.soul()], dataDir: dataDir) { k in
            let anHourAgo = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3_600))
            let first = try await k.request("soul.decay", #"{"at":"\#(anHourAgo)"}"#)
            #expect(first.json["updated"] as? Int == 1)
            let second = try await k.request("soul.decay", #"{"at":"\#(anHourAgo)"}"#)
            #expect(second.json["updated"] as? Int == 0)
            let trust = try await k.request("soul.entities.get", #"{"name":"alice"}"#).number("trust") ?? 0
            #expect(abs(trust - 0.4) < 1e-4)
        }
    }

    /// A decay as of a future time is refused and changes nothing: as of year 9999 it would take
    /// every trust to 0 and hold decay until then.
    @Test func aDecayAsOfAFutureTimeIsRefused() async throws {
        try await PluginKernel.with([try Plugins.soul()]) { k in
            _ = try await k.request("soul.entities.upsert", #"{"name":"alice"}"#)
            let before = try await k.request("soul.entities.get", #"{"name":"alice"}"#)
            for at in ["9999-01-01T00:00:00Z", ISO8601DateFormatter().string(from: Date().addingTimeInterval(3_600))] {
                let r = try await k.request("soul.decay", #"{"at":"\#(at)"}"#)
                #expect(r.status == 400, "\(at)")
                let detail = r.json["detail"] as? String ?? ""
                #expect(detail.hasPrefix("at: expected a time no later than now ("), "\(detail)")
                #expect(detail.hasSuffix("), found \(at)"), "\(detail)")
            }
            let after = try await k.request("soul.entities.get", #"{"name":"alice"}"#)
            #expect(after.json["trust"] as? Double == 0.5)
            #expect(after.json["last_decayed_at"] as? String == before.json["last_decayed_at"] as? String)
            let soon = ISO8601DateFormatter().string(from: Date().addingTimeInterval(30))
            #expect(try await k.request("soul.decay", #"{"at":"\#(soon)"}"#).status == 200, "within the clock skew allowed")
        }
    }

    @Test func eachMemoryIsLinkedOnce() async throws {
        try await PluginKernel.with([try Plugins.soul()]) { k in
            _ = try await k.request("soul.entities.upsert", #"{"name":"alice"}"#)
            for id in ["m1", "m2", "m1", "m1"] {
                #expect(try await k.request("soul.memories.link", #"{"name":"alice","memory_id":"\#(id)"}"#).status == 200)
            }
            let got = try await k.request("soul.entities.get", #"{"name":"alice"}"#)
            #expect(got.json["linked_memories"] as? [String] == ["m1", "m2"])
            let missing = try await k.request("soul.memories.link", #"{"name":"nobody","memory_id":"m1"}"#)
            #expect(missing.status == 404)
        }
    }

    @Test func badInputIsRefusedNamingTheField() async throws {
        try await PluginKernel.with([try Plugins.soul()]) { k in
            let cases: [(String, String, String)] = [
                ("soul.entities.upsert", #"{"name":""}"#, "name: expected 1 to 128 characters, found none"),
                ("soul.entities.upsert", #"{"name":"a","trust":2}"#, "trust: expected a number from 0 to 1, found 2.0"),
                ("soul.entities.upsert", #"{"name":"a","trust":"high"}"#, "trust: expected a number from 0 to 1"),
                (
                    "soul.entities.upsert", #"{"name":"a","mood":1}"#,
                    "body: unknown member 'mood'; expected decay_rate, name, trust"
                ),
                ("soul.entities.upsert", #"{}"#, "name: required"),
                ("soul.emotions.record", #"{"name":"a"}"#, "emotion: required (love, joy, ...)"),
                (
                    "soul.emotions.record", #"{"name":"a","emotion":"  "}"#,
                    "emotion: expected a name such as joy or love, found nothing"
                ),
                (
                    "soul.decay", #"{"at":"yesterday"}"#,
                    "at: expected an RFC 3339 time such as 2026-12-01T18:00:00Z, found 'yesterday'"
                ),
                ("soul.entities.get", "not json", "body: expected a JSON object"),
            ]
            for (topic, body, detail) in cases {
                let r = try await k.request(topic, body)
                #expect(r.status == 400, "\(topic) \(body)")
                #expect(r.contentType == "application/problem+json")
                #expect(r.json["detail"] as? String == detail)
            }
            let binary = try await k.request("soul.entities.upsert", bytes: [0x7B, 0xC3, 0x28])
            #expect(binary.json["detail"] as? String == "body: expected UTF-8 JSON, found bytes that are not valid UTF-8")
        }
    }

    /// A label of 64 code points is accepted and stored as `General(label)`, 73 of them; the
    /// entity, the list and a restored snapshot read it back (they refused it with a 400 before).
    @Test func anEmotionWithTheLongestLabelReadsBack() async throws {
        let label = String(repeating: "e", count: 64)
        let snapshot = try TemporaryDirectory.make()
        try await PluginKernel.with([try Plugins.soul()]) { k in
            let recorded = try await k.request("soul.emotions.record", #"{"name":"ada","emotion":"\#(label)"}"#)
            #expect(recorded.status == 200 || recorded.status == 201)
            let got = try await k.request("soul.entities.get", #"{"name":"ada"}"#)
            #expect(got.status == 200)
            #expect(got.json["emotions"] as? [String: Int] == ["General(\(label))": 1])
            #expect(try await k.request("soul.entities.list").status == 200)
            let kernel = k.test.kernel
            try await onThread { () throws(KernelError) in try kernel.snapshot(plugin: "soul", into: snapshot) }
            _ = try await k.request("soul.entities.delete", #"{"name":"ada"}"#)
            try await onThread { () throws(KernelError) in try kernel.restore(plugin: "soul", from: snapshot) }
            let restored = try await k.request("soul.entities.get", #"{"name":"ada"}"#)
            #expect(restored.json["emotions"] as? [String: Int] == ["General(\(label))": 1])
        }
    }

    /// A snapshot is restored only when it is a database the soul's migrations make, with values
    /// of its columns' types: a time stored as text stopped the process at the first read of
    /// the entity (GRDB's subscript), and a trigger of someone else's deleted what was stored
    /// later. Both are refused, and the soul goes on with the data it had.
    @Test func aForgedSnapshotIsRefusedAndTheDataStays() async throws {
        let snapshot = try TemporaryDirectory.make()
        try await PluginKernel.with([try Plugins.soul()]) { k in
            _ = try await k.request("soul.emotions.record", #"{"name":"alice","emotion":"joy"}"#)
            let kernel = k.test.kernel
            try await onThread { () throws(KernelError) in try kernel.snapshot(plugin: "soul", into: snapshot) }
            #expect(try await k.request("soul.entities.upsert", #"{"name":"bob"}"#).status == 201)
            let file =
                snapshot + "/"
                + (try FileManager.default.contentsOfDirectory(atPath: snapshot).first { $0.hasSuffix(".sqlite") } ?? "")
            for forgery in [
                "UPDATE soul_entities SET last_interaction = 'yesterday'",
                "CREATE TRIGGER forged AFTER INSERT ON soul_entities BEGIN DELETE FROM soul_entities; END",
                // Within the table's CHECK, beyond what the empathy sum can add.
                "UPDATE soul_emotions SET count = 9223372036854775000",
            ] {
                let copy = try TemporaryDirectory.make()
                try FileManager.default.copyItem(atPath: file, toPath: copy + "/" + (file as NSString).lastPathComponent)
                let queue = try DatabaseQueue(path: copy + "/" + (file as NSString).lastPathComponent)
                try await queue.write { db in try db.execute(sql: forgery) }
                try queue.close()
                await #expect(throws: KernelError.self, "\(forgery)") {
                    try await onThread { () throws(KernelError) in try kernel.restore(plugin: "soul", from: copy) }
                }
                #expect(try await k.request("soul.entities.get", #"{"name":"alice"}"#).status == 200)
                #expect(try await k.request("soul.entities.get", #"{"name":"bob"}"#).status == 200, "the live data stays")
                #expect(try await k.request("soul.entities.list").status == 200)
            }
            try await onThread { () throws(KernelError) in try kernel.restore(plugin: "soul", from: snapshot) }
            #expect(try await k.request("soul.entities.get", #"{"name":"bob"}"#).status == 404)
        }
    }

    @Test func entitiesSurviveARestartAndSnapshotsRestore() async throws {
        let dataDir = try TemporaryDirectory.make()
        let snapshot = try TemporaryDirectory.make()
        try await PluginKernel.with([try Plugins.soul()], dataDir: dataDir) { k in
            _ = try await k.request("soul.emotions.record", #"{"name":"alice","emotion":"joy"}"#)
            _ = try await k.request("soul.memories.link", #"{"name":"alice","memory_id":"m1"}"#)
            let kernel = k.test.kernel
            try await onThread { () throws(KernelError) in try kernel.snapshot(plugin: "soul", into: snapshot) }
            _ = try await k.request("soul.entities.delete", #"{"name":"alice"}"#)
        }
        try await PluginKernel.with([try Plugins.soul()], dataDir: dataDir) { k in
            #expect(try await k.request("soul.entities.get", #"{"name":"alice"}"#).status == 404)
            let kernel = k.test.kernel
            try await onThread { () throws(KernelError) in try kernel.restore(plugin: "soul", from: snapshot) }
            let got = try await k.request("soul.entities.get", #"{"name":"alice"}"#)
            #expect(got.json["emotions"] as? [String: Int] == ["Joy": 1])
            #expect(got.json["linked_memories"] as? [String] == ["m1"])
        }
    }

    /// A name is one entity however its accents are encoded: "é" sent precomposed (U+00E9) and
    /// as "e" with a combining accent (U+0301) are the same name to Swift, and were two rows to
    /// SQLite; a decay over both then stopped the process (a dictionary of the names had a
    /// duplicate key). Names are now stored and looked up composed (NFC).
    @Test func aNameIsOneEntityHoweverItsAccentsAreEncoded() async throws {
        try await PluginKernel.with([try Plugins.soul()]) { k in
            let composed = try await k.request("soul.entities.upsert", #"{"name":"\u00e9mile","trust":0.9}"#)
            #expect(composed.status == 201)
            let decomposed = try await k.request("soul.entities.upsert", #"{"name":"e\u0301mile","trust":0.4}"#)
            #expect(decomposed.status == 200, "the same entity")
            #expect(decomposed.number("trust") == 0.4)
            _ = try await k.request("soul.emotions.record", #"{"name":"e\u0301mile","emotion":"joy"}"#)
            let got = try await k.request("soul.entities.get", #"{"name":"\u00e9mile"}"#)
            #expect(got.json["emotions"] as? [String: Int] == ["Joy": 1])
            #expect(Array((got.json["name"] as? String ?? "").unicodeScalars) == Array("\u{e9}mile".unicodeScalars))
            #expect(try await k.request("soul.decay").status == 200)
            #expect(try await k.request("soul.entities.list").json["total"] as? Int == 1)
            #expect(try await k.request("soul.entities.delete", #"{"name":"e\u0301mile"}"#).status == 204)
            #expect(try await k.request("soul.entities.get", #"{"name":"\u00e9mile"}"#).status == 404)
        }
    }

    /// A database an earlier version left with decomposed names is migrated: a name alone in its
    /// decomposed form is composed (and found either way); two entities whose names differ only
    /// so stay two, each with its own emotions and links, and a decay over them answers.
    @Test func decomposedNamesOfAnEarlierVersionAreComposedAndNeverMixed() async throws {
        let dataDir = try TemporaryDirectory.make()
        try await PluginKernel.with([try Plugins.soul()], dataDir: dataDir) { k in
            let listed = try await k.request("soul.entities.list")
            #expect(listed.status == 200)
        }
        let file = try openStopped(dataDir + "/soul/soul.sqlite")
        try await file.write { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v3-soul-canonical-names'")
            for (name, trust) in [("e\u{301}va", 0.7), ("\u{e9}mile", 0.9), ("e\u{301}mile", 0.2)] {
                try db.execute(
                    sql: "INSERT INTO soul_entities VALUES (?, ?, 0.01, 0, 0, 0)",
                    arguments: [name, trust])
            }
            try db.execute(
                sql: "INSERT INTO soul_emotions VALUES (?, 'Joy', 2), (?, 'Calm', 1), (?, 'Worry', 3)",
                arguments: ["e\u{301}va", "\u{e9}mile", "e\u{301}mile"])
            try db.execute(
                sql: "INSERT INTO soul_memory_links VALUES (?, 'm-eva', 0), (?, 'm-nfd', 0)",
                arguments: ["e\u{301}va", "e\u{301}mile"])
        }
        try file.close()
        try await PluginKernel.with([try Plugins.soul()], dataDir: dataDir) { k in
            let eva = try await k.request("soul.entities.get", #"{"name":"\u00e9va"}"#)
            #expect(eva.status == 200)
            #expect(eva.json["emotions"] as? [String: Int] == ["Joy": 2])
            #expect(eva.json["linked_memories"] as? [String] == ["m-eva"])
            let list = try await k.request("soul.entities.list")
            let entities = try #require(list.json["entities"] as? [[String: Any]])
            #expect(entities.count == 3)
            let emotions = entities.map { "\($0["trust"] ?? "") \($0["emotions"] as? [String: Int] ?? [:])" }
            #expect(emotions.sorted() == ["0.2 [\"Worry\": 3]", "0.7 [\"Joy\": 2]", "0.9 [\"Calm\": 1]"])
            let links = entities.map { ($0["linked_memories"] as? [String]) ?? [] }
            #expect(links.map { $0.joined() }.sorted() == ["", "m-eva", "m-nfd"])
            #expect(try await k.request("soul.decay").status == 200)
        }
    }

    /// An entity stored when names were counted in Characters is read as it was stored: a name
    /// of 70 Characters and 140 code points ("क़" stays two code points in NFC) failed today's
    /// check on every load, so every list and decay answered 400.
    @Test func anEntityStoredUnderEarlierLimitsIsStillRead() async throws {
        let dataDir = try TemporaryDirectory.make()
        try await PluginKernel.with([try Plugins.soul()], dataDir: dataDir) { k in
            let created = try await k.request("soul.entities.upsert", #"{"name":"ada"}"#)
            #expect(created.status == 201)
        }
        let name = String(repeating: "\u{915}\u{93C}", count: 70)
        #expect(name.count == 70 && name.unicodeScalars.count == 140)
        try await openStopped(dataDir + "/soul/soul.sqlite").write { db in
            try db.execute(sql: "INSERT INTO soul_entities VALUES (?, 0.6, 0.01, 0, 0, 0)", arguments: [name])
        }
        try await PluginKernel.with([try Plugins.soul()], dataDir: dataDir) { k in
            let list = try await k.request("soul.entities.list")
            #expect(list.status == 200)
            #expect(list.json["total"] as? Int == 2)
            #expect(try await k.request("soul.decay").status == 200)
            #expect(try await k.request("soul.entities.get", #"{"name":"ada"}"#).status == 200)
        }
    }
}
