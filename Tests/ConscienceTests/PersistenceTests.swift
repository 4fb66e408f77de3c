import Foundation
import GRDB
import JameyKernel
import JameyTestKit
import Testing

/// Rules survive a restart; snapshot and restore round-trip them through the kernel's hooks.
@Suite struct PersistenceTests {
    @Test func rulesSurviveARestartAndDefaultsAreSeededOnce() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-conscience")
        try await ConscienceKernel.with(dataDir: data) { k in
            let care = #"{"name":"care","description":"Take care of people","weight":4,"polarity":"virtue"}"#
            let created = try await k.request("conscience.rules.create", care)
            #expect(created.status == 201)
            let deleted = try await k.request("conscience.rules.delete", #"{"name":"truth"}"#)
            #expect(deleted.status == 204)
        }
        #expect(FileManager.default.fileExists(atPath: data + "/conscience/conscience.sqlite"))
        try await ConscienceKernel.with(dataDir: data) { k in
            let rules = try #require(try await k.request("conscience.rules.list").json["rules"] as? [[String: Any]])
            #expect(rules.compactMap { $0["name"] as? String } == ["care", "no-deception", "no-harm"], "truth stays deleted")
            let care = try #require(rules.first)
            #expect(care["keywords"] as? [String] == ["take", "care", "people"], "derived from the description")
            #expect(
                await eventually { k.test.kernel.plugin(named: "conscience")?.health?.detail.hasPrefix("3 rules") == true },
                "health is polled in the background")
        }
    }

    /// A rule stored when descriptions were counted in Characters (500 of them, 520 code points
    /// here) is read as it was stored: it vanished from every read (get 404, list without it)
    /// while its name still refused a create (409), so it could be neither seen nor replaced.
    @Test func aRuleStoredUnderEarlierLimitsIsStillRead() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-conscience-legacy")
        try await ConscienceKernel.with(dataDir: data) { k in
            let care = #"{"name":"care","description":"Take care of people","weight":4,"polarity":"virtue"}"#
            let created = try await k.request("conscience.rules.create", care)
            #expect(created.status == 201)
        }
        let description = "Take care of " + String(repeating: "e\u{301}", count: 254)
        #expect(description.count <= 500 && description.unicodeScalars.count > 500)
        // A busy timeout: the stopped kernel's last connection can hold the file an instant.
        var waiting = Configuration()
        waiting.busyMode = .timeout(10)
        try await DatabaseQueue(path: data + "/conscience/conscience.sqlite", configuration: waiting).write { db in
            try db.execute(sql: "UPDATE rules SET description = ? WHERE name = 'care'", arguments: [description])
        }
        try await ConscienceKernel.with(dataDir: data) { k in
            let got = try await k.request("conscience.rules.get", #"{"name":"care"}"#)
            #expect(got.status == 200)
            #expect((got.json["description"] as? String).map { Array($0.unicodeScalars) } == Array(description.unicodeScalars))
            let rules = try #require(try await k.request("conscience.rules.list").json["rules"] as? [[String: Any]])
            #expect(rules.contains { $0["name"] as? String == "care" })
            let updated = try await k.request("conscience.rules.update", #"{"name":"care","weight":5}"#)
            #expect(updated.status == 200)
        }
    }

    @Test func snapshotAndRestoreRoundTrip() async throws {
        try await ConscienceKernel.with { k in
            let snapshot = try TemporaryDirectory.make(prefix: "jamey-conscience-snap")
            let create = #"{"name":"before","description":"Saved","keywords":["saved"],"weight":3,"polarity":"virtue"}"#
            #expect(try await k.request("conscience.rules.create", create).status == 201)
            let kernel = k.test.kernel
            try await onThread { () throws(KernelError) in try kernel.snapshot(plugin: "conscience", into: snapshot) }
            #expect(FileManager.default.fileExists(atPath: snapshot + "/conscience.sqlite"))

            #expect(try await k.request("conscience.rules.delete", #"{"name":"before"}"#).status == 204)
            let after = #"{"name":"after","description":"Not saved","keywords":["later"],"weight":3,"polarity":"virtue"}"#
            #expect(try await k.request("conscience.rules.create", after).status == 201)

            try await onThread { () throws(KernelError) in try kernel.restore(plugin: "conscience", from: snapshot) }
            let names = (try await k.request("conscience.rules.list").json["rules"] as? [[String: Any]] ?? []).compactMap {
                $0["name"] as? String
            }
            #expect(names == ["before", "no-deception", "no-harm", "truth"])
            // The engine follows the restored rules.
            let e = try await k.request("conscience.evaluate", #"{"text":"saved"}"#)
            #expect(((e.json["score"] as? Double) ?? 0) > 0)
        }
    }

    @Test func restoringFromADirectoryWithoutASnapshotFails() async throws {
        try await ConscienceKernel.with { k in
            let empty = try TemporaryDirectory.make(prefix: "jamey-conscience-empty")
            let kernel = k.test.kernel
            await #expect(throws: KernelError.self) {
                try await onThread { () throws(KernelError) in try kernel.restore(plugin: "conscience", from: empty) }
            }
            #expect(try await k.request("conscience.rules.list").json["rules"] as? [[String: Any]] != nil)
        }
    }
}
