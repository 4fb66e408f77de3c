import Foundation
import JameyTestKit
import Synchronization
import Testing
import VaultCore
import VaultSQLite

@Suite(.serialized) struct VaultPluginTests {
    /// Retention that forgets nothing (the default forgets a second snapshot of the same day).
    static let noRetention = "retention: {keep_last: 0, keep_hourly: 0, keep_daily: 0, keep_weekly: 0, keep_monthly: 0}"

    @Test func theFirstBackupRunsSoonAfterStartAndReportsMetrics() async throws {
        try await VaultKernel.with(firstDelay: 0) { k in
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    let list = try await k.request("vault.snapshots.list")
                    return (list.json["snapshots"] as? [[String: Any]])?.isEmpty == false
                })
            let list = try await k.request("vault.snapshots.list")
            let first = try #require((list.json["snapshots"] as? [[String: Any]])?.first)
            // Every plugin with state, each through its own snapshot hook.
            #expect(Set(first["sources"] as? [String] ?? []) == ["conscience", "memory"])
            let exposition = k.test.kernel.metrics.exposition()
            #expect(exposition.contains("vault_backups_total"))
            #expect(exposition.contains("vault_last_success_timestamp_seconds"))
            #expect(exposition.contains("vault_backup_bytes_added_total"))
            let stats = try await k.request("vault.stats.get")
            #expect(stats.status == 200, "\(stats.text)")
            #expect((stats.json["snapshots"] as? Int ?? 0) >= 1)
        }
    }

    @Test func aBackupWhileAPluginWritesRestoresAConsistentDatabase() async throws {
        try await VaultKernel.with(firstDelay: 3600) { k in
            let acknowledged = Atomic<Int>(0)
            let stop = Atomic<Bool>(false)
            let writer = Task {
                var number = 0
                while !stop.load(ordering: .relaxed) {
                    let body = #"{"name":"w\#(number)","description":"rule \#(number)","weight":1,"polarity":"virtue"}"#
                    let reply = try? await k.request("conscience.rules.create", body)
                    if reply?.status == 201 { acknowledged.store(number + 1, ordering: .relaxed) }
                    number += 1
                }
            }
            _ = await eventually(timeout: .seconds(30)) { acknowledged.load(ordering: .relaxed) >= 20 }
            let before = acknowledged.load(ordering: .relaxed)
            let backup = try await k.request("vault.backup.run")
            let after = acknowledged.load(ordering: .relaxed)
            stop.store(true, ordering: .relaxed)
            _ = await writer.value
            #expect(backup.status == 200, "\(backup.text)")
            let snapshot = try #require(backup.json["snapshot"] as? String)
            let restored = try await k.request(
                "vault.restore.run", #"{"snapshot":"\#(snapshot)","source":"conscience","online":false}"#)
            #expect(restored.status == 200, "\(restored.text)")
            let target = try #require(((restored.json["restored"] as? [[String: Any]])?.first)?["target"] as? String)
            let database = URL(fileURLWithPath: target).appendingPathComponent("conscience.sqlite")
            #expect(SQLiteTools.integrityCheck(database) == nil)
            let names = try SQLiteTools.strings(database, "SELECT name FROM rules WHERE name LIKE 'w%'")
            // Every row committed before the backup began is there; none that was never committed.
            #expect(names.count >= before)
            #expect(names.count <= after + 1)
            let numbers = Set(names.compactMap { Int($0.dropFirst()) })
            #expect(numbers == Set(0..<names.count))
            let verify = try await k.request("vault.verify.run")
            #expect(verify.status == 200, "\(verify.text)")
            #expect(verify.json["ok"] as? Bool == true, "\(verify.text)")
        }
    }

    @Test func anOnlineRestorePutsAPluginBackThroughTheKernel() async throws {
        try await VaultKernel.with(firstDelay: 3600) { k in
            let rule = #"{"name":"kept","description":"before the backup","weight":2,"polarity":"virtue"}"#
            #expect(try await k.request("conscience.rules.create", rule).status == 201)
            let backup = try await k.request("vault.backup.run")
            #expect(backup.status == 200, "\(backup.text)")
            let later = #"{"name":"later","description":"after the backup","weight":2,"polarity":"virtue"}"#
            #expect(try await k.request("conscience.rules.create", later).status == 201)
            let restored = try await k.request("vault.restore.run", #"{"source":"conscience"}"#)
            #expect(restored.status == 200, "\(restored.text)")
            let steps = restored.json["steps"] as? [String] ?? []
            #expect(steps.contains { $0.contains("restored conscience") }, "\(steps)")
            let names = try await k.request("conscience.rules.list").text
            #expect(names.contains("\"kept\""))
            #expect(!names.contains("\"later\""))
            #expect(k.test.kernel.plugin(named: "conscience")?.state == .started)
        }
    }

    /// Restores one at a time: two sent together each wrote `restores/<snapshot>/<source>` and
    /// the second moved the first's files aside under its plugin's restore, then lost its own
    /// when the first removed that path. Now the second is refused (409) while the first runs.
    @Test func restoresSentTogetherDoNotShareTheirFiles() async throws {
        try await VaultKernel.with(firstDelay: 3600) { k in
            let rule = #"{"name":"kept","description":"before the backup","weight":2,"polarity":"virtue"}"#
            #expect(try await k.request("conscience.rules.create", rule).status == 201)
            #expect(try await k.request("vault.backup.run").status == 200)
            for _ in 0..<3 {
                async let first = k.request("vault.restore.run", #"{"source":"conscience"}"#)
                async let second = k.request("vault.restore.run", #"{"source":"conscience"}"#)
                let replies = try await [first, second]
                #expect(replies.allSatisfy { [200, 409].contains($0.status) }, "\(replies.map(\.text))")
                #expect(replies.contains { $0.status == 200 }, "\(replies.map(\.text))")
                if let refused = replies.first(where: { $0.status == 409 }) {
                    #expect(refused.text.contains("a restore is already running"), "\(refused.text)")
                }
            }
            #expect(try await k.request("conscience.rules.list").text.contains("\"kept\""))
            #expect(k.test.kernel.plugin(named: "conscience")?.state == .started)
            let restores = k.directory.appendingPathComponent("data/vault/restores")
            let left = try FileManager.default.subpathsOfDirectory(atPath: restores.path).filter { !$0.hasSuffix("/") }
            #expect(left.allSatisfy { !$0.contains("/") || $0.split(separator: "/").count < 2 }, "\(left)")
            let aside = try FileManager.default.subpathsOfDirectory(atPath: k.directory.appendingPathComponent("data").path)
                .filter { $0.contains("before-restore") }
            #expect(aside.isEmpty, "\(aside)")
        }
    }

    /// An online restore over HTTP leaves the api plugin's data for the operator (it carries the
    /// request); the next restore of the snapshot replaces that copy instead of moving it aside,
    /// so repeated restores keep one copy per source, not one more each time.
    @Test func repeatedRestoresKeepOneScratchCopyPerSource() async throws {
        try await VaultKernel.with(firstDelay: 3600, http: true) { k in
            let rule = #"{"name":"kept","description":"before the backup","weight":2,"polarity":"virtue"}"#
            #expect(try await k.request("conscience.rules.create", rule).status == 201)
            let snapshot = try #require(try await k.request("vault.backup.run").json["snapshot"] as? String)
            for _ in 0..<3 {
                let restored = try await k.http("POST", "/v1/vault/restore", body: "{}")
                #expect(restored.status == 200, "\(restored.text)")
                #expect(restored.text.contains("skipped api: it carries this request"), "\(restored.text)")
            }
            let base = k.dataDirectory.appendingPathComponent("vault/restores/\(snapshot.prefix(12))")
            #expect(try FileManager.default.contentsOfDirectory(atPath: base.path) == ["api"])
            #expect(FileManager.default.fileExists(atPath: base.appendingPathComponent("api/keys.sqlite").path))
            // A restore that fails (the packs are gone) keeps the copy an earlier one left.
            try FileManager.default.removeItem(at: k.repository.appendingPathComponent("packs"))
            let failed = try await k.http("POST", "/v1/vault/restore", body: #"{"source":"api"}"#)
            #expect(!(200..<300).contains(failed.status), "\(failed.text)")
            #expect(FileManager.default.fileExists(atPath: base.appendingPathComponent("api/keys.sqlite").path))
        }
    }

    /// `latest` is this node's newest snapshot, refused when the repository lost one this node
    /// wrote (the newest left would silently put older data back); a snapshot named by id is
    /// restored.
    @Test func latestIsRefusedWhenTheRepositoryLostThisNodesNewest() async throws {
        try await VaultKernel.with(firstDelay: 3600, extra: Self.noRetention) { k in
            let rule = #"{"name":"kept","description":"before the backups","weight":2,"polarity":"virtue"}"#
            #expect(try await k.request("conscience.rules.create", rule).status == 201)
            let first = try #require(try await k.request("vault.backup.run").json["snapshot"] as? String)
            let newest = try #require(try await k.request("vault.backup.run").json["snapshot"] as? String)
            try FileManager.default.removeItem(at: k.repository.appendingPathComponent("snapshots/\(newest)"))
            let refused = try await k.request("vault.restore.run", #"{"source":"conscience"}"#)
            #expect(refused.status == 409, "\(refused.text)")
            #expect(refused.text.contains("restore of latest refused: repository rolled back"), "\(refused.text)")
            let named = try await k.request("vault.restore.run", #"{"snapshot":"\#(first)","source":"conscience"}"#)
            #expect(named.status == 200, "\(first): \(named.text)")
        }
    }

    /// A snapshot of a plugin that is no longer configured restores the others: that source is
    /// skipped with a step saying where its data is (the restore stopped at it with a 500, after
    /// the sources before it were already put back).
    @Test func aRestoreSkipsASourceThatIsNoLongerConfigured() async throws {
        let soul = TestKernel.Plugin("soul", path: try TestPlugins.library("Soul"))
        var directory: URL?
        try await VaultKernel.with(firstDelay: 3600, before: [soul], keep: true) { k in
            directory = k.directory
            #expect(try await k.request("soul.entities.upsert", #"{"name":"ada"}"#).status == 201)
            let rule = #"{"name":"kept","description":"before the backup","weight":2,"polarity":"virtue"}"#
            #expect(try await k.request("conscience.rules.create", rule).status == 201)
            let backup = try await k.request("vault.backup.run")
            #expect(backup.status == 200, "\(backup.text)")
        }
        let dir = try #require(directory)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await VaultKernel.with(firstDelay: 3600, directory: dir) { k in
            let deleted = try await k.request("conscience.rules.delete", #"{"name":"kept"}"#)
            #expect(deleted.status == 204)
            let restored = try await k.request("vault.restore.run")
            #expect(restored.status == 200, "\(restored.text)")
            let steps = restored.json["steps"] as? [String] ?? []
            #expect(steps.contains { $0.hasPrefix("skipped soul: no plugin of that name is configured") }, "\(steps)")
            #expect(steps.contains { $0.contains("restored conscience") }, "\(steps)")
            #expect(try await k.request("conscience.rules.list").text.contains("\"kept\""))
        }
    }

    /// An online restore killed part way leaves some plugins restored and the others not: the
    /// journal it leaves makes the next start say which, in the log and the vault's health, until
    /// a restore completes.
    @Test func aRestoreKilledPartWayIsReportedUntilOneCompletes() async throws {
        var directory: URL?
        var snapshot = ""
        try await VaultKernel.with(firstDelay: 3600, keep: true) { k in
            directory = k.directory
            let rule = #"{"name":"kept","description":"before the backup","weight":2,"polarity":"virtue"}"#
            #expect(try await k.request("conscience.rules.create", rule).status == 201)
            snapshot = try #require(try await k.request("vault.backup.run").json["snapshot"] as? String)
        }
        let dir = try #require(directory)
        defer { try? FileManager.default.removeItem(at: dir) }
        // What a restore of api and conscience leaves when killed after api.
        let journal =
            #"{"snapshot":"\#(snapshot)","sources":["api","conscience"],"restored":["api"],"began":"2026-12-06T10:00:00Z"}"#
        try journal.write(to: dir.appendingPathComponent("data/vault/restore.json"), atomically: true, encoding: .utf8)
        try await VaultKernel.with(firstDelay: 3600, directory: dir) { k in
            let said = await eventually {
                k.test.kernel.plugin(named: "vault")?.health?.detail.contains(
                    "an online restore of snapshot \(snapshot.prefix(12)) begun 2026-12-06T10:00:00Z was interrupted: restored api; not restored conscience"
                ) == true
            }
            #expect(said, "\(String(describing: k.test.kernel.plugin(named: "vault")?.health))")
            #expect(k.test.kernel.plugin(named: "vault")?.health?.status == "degraded")
            let restored = try await k.request("vault.restore.run", #"{"source":"conscience"}"#)
            #expect(restored.status == 200, "\(restored.text)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("data/vault/restore.json").path))
            let cleared = await eventually {
                !(k.test.kernel.plugin(named: "vault")?.health?.detail.contains("interrupted") ?? true)
            }
            #expect(cleared)
        }
    }

    /// What a killed process left in the vault's directory (a backup's staged copies of every
    /// plugin's data, verify's scratch restores) is removed at the next start; what a live
    /// process is writing (here: one stamped with this test process) is kept.
    @Test func leftoversOfAKilledRunAreRemovedAtStart() async throws {
        var directory: URL?
        try await VaultKernel.with(firstDelay: 3600, keep: true) { k in directory = k.directory }
        let dir = try #require(directory)
        defer { try? FileManager.default.removeItem(at: dir) }
        let vault = dir.appendingPathComponent("data/vault")
        let dead = ["staging-1.1-0badc0de", "jamey-vault-verify-0F0E0D0C-AAAA-BBBB-CCCC-000000000000"]
        let live = "staging-\(ProcessStamp.current)-0c0ffee0"
        for name in dead + [live] {
            try FileManager.default.createDirectory(
                at: vault.appendingPathComponent(name + "/memory"), withIntermediateDirectories: true)
            try Data("copy".utf8).write(to: vault.appendingPathComponent(name + "/memory/memory.sqlite"))
        }
        try await VaultKernel.with(firstDelay: 3600, directory: dir) { _ in
            let left = Set(try FileManager.default.contentsOfDirectory(atPath: vault.path))
            #expect(left.isDisjoint(with: dead), "\(left)")
            #expect(left.contains(live))
        }
    }

    @Test func withoutThePrivilegeABackupFailsNamingIt() async throws {
        try await VaultKernel.with(firstDelay: 3600, privileged: false) { k in
            let backup = try await k.request("vault.backup.run")
            #expect(backup.status == 409)
            #expect(backup.text.contains("plugins.vault.privileges"), "\(backup.text)")
            #expect(k.test.kernel.metrics.exposition().contains("vault_backups_total"))
        }
    }

    @Test func retentionIsAppliedAfterEachBackup() async throws {
        // The default rules keep the newest snapshot of each hour: three backups in a row leave one.
        try await VaultKernel.with(firstDelay: 3600) { k in
            for _ in 0..<3 { #expect(try await k.request("vault.backup.run").status == 200) }
            let list = try await k.request("vault.snapshots.list")
            #expect((list.json["snapshots"] as? [[String: Any]])?.count == 1)
            #expect(k.test.kernel.metrics.exposition().contains("vault_snapshots_removed_total"))
        }
    }

    /// A bad `keep_within` is a 400 before the repository holds any snapshot (schemathesis: it was
    /// checked only while deciding on snapshots, so an empty repository answered 200).
    @Test func aBadKeepWithinIsRefusedWithNoSnapshotYet() async throws {
        try await VaultKernel.with(firstDelay: 3600) { k in
            let bad = try await k.request("vault.forget.run", #"{"keep_within":"\u0084"}"#)
            #expect(bad.status == 400, "\(bad.text)")
            #expect(bad.text.contains("keep_within"))
            #expect(try await k.request("vault.forget.run", #"{"keep_within":"1d","dry_run":true}"#).status == 200)
        }
    }

    @Test func forgetDryRunListsWhatWouldGoAndWhy() async throws {
        try await VaultKernel.with(firstDelay: 3600, extra: Self.noRetention) { k in
            for _ in 0..<3 { #expect(try await k.request("vault.backup.run").status == 200) }
            let dry = try await k.request("vault.forget.run", #"{"keep_last":1,"dry_run":true}"#)
            #expect(dry.status == 200, "\(dry.text)")
            let decisions = try #require((dry.json["decisions"] as? [String: Any])?["test-node"] as? [[String: Any]])
            #expect(decisions.filter { $0["keep"] as? Bool == false }.count == 2)
            #expect(decisions.first?["reasons"] as? [String] == ["last snapshot"])
            let bad = try await k.request("vault.forget.run", #"{"keep_lats":1}"#)
            #expect(bad.status == 400)
            #expect(bad.text.contains("keep_lats"))
            let prune = try await k.request("vault.prune.run", #"{"dry_run":true}"#)
            #expect(prune.status == 200, "\(prune.text)")
        }
    }

    @Test func aNodeWithoutTheIdentityBacksUpButCannotRead() async throws {
        try await VaultKernel.with(firstDelay: 3600, withIdentity: false) { k in
            #expect(try await k.request("vault.backup.run").status == 200)
            let verify = try await k.request("vault.verify.run")
            #expect(verify.status == 400)
            #expect(verify.text.contains("identity"))
            let restore = try await k.request("vault.restore.run")
            #expect(restore.status == 400)
        }
    }

    /// An identity file the vault cannot use says why: a passphrase-protected one (an age file
    /// itself) was "cannot be read", a 404, beside a file that plainly existed.
    @Test func anIdentityFileItCannotUseIsNamedWithTheReason() async throws {
        try await VaultKernel.with(firstDelay: 3600) { k in
            var encrypted = Data("age-encryption.org/v1\n-> scrypt c2FsdHNhbHRzYWx0c2FsdA 18\nAAAA\n--- AAAA\n".utf8)
            encrypted.append(contentsOf: [0xF1, 0x00, 0xC3, 0x28, 0xFF])
            try encrypted.write(to: k.identityFile)
            let verify = try await k.request("vault.verify.run")
            #expect(verify.status == 400, "\(verify.text)")
            #expect(verify.text.contains("is encrypted (a passphrase-protected age identity)"), "\(verify.text)")
            try FileManager.default.removeItem(at: k.identityFile)
            let missing = try await k.request("vault.verify.run")
            #expect(missing.status == 404)
            #expect(missing.text.contains("\(k.identityFile.path) does not exist"), "\(missing.text)")
        }
    }

    @Test func stopWaitsForARunningBackupInsteadOfAbandoningIt() async throws {
        // A stateful plugin whose snapshot hook takes 1.5 s: the backup is still staging when the kernel stops.
        var slow = CPluginSource(name: "slowstate")
        slow.snapshotDelayMilliseconds = 1500
        let plugin = TestKernel.Plugin("slowstate", path: try TestPlugins.buildC(name: "slowstate", source: slow.render()))
        try await VaultKernel.with(firstDelay: 3600, before: [plugin]) { k in
            let backup = Task { try await k.request("vault.backup.run") }
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    try await k.request("vault.stats.get").json["backupsRunning"] as? Int == 1
                })
            await onThread { k.test.shutdown(deadline: .seconds(30)) }
            let reply = try await backup.value
            #expect(reply.status == 200, "\(reply.text)")
            let repository = try Repository(at: k.repository)
            let catalog = try RepositoryReader(repository: repository, identities: [k.identity]).catalog
            #expect(catalog.snapshots.count == 1)
            #expect(catalog.snapshots.first?.header.sources.contains("slowstate") == true)
            let reader = try RepositoryReader(repository: repository, identities: [k.identity])
            #expect(reader.verify(VerifyOptions()).problems == [])
            let locks =
                (try? FileManager.default.contentsOfDirectory(atPath: k.repository.appendingPathComponent("locks").path)) ?? []
            #expect(locks.isEmpty)
        }
    }

    @Test func forgetThroughTheAPIIsScopedToThisNode() async throws {
        try await VaultKernel.with(firstDelay: 3600, extra: Self.noRetention) { k in
            #expect(try await k.request("vault.backup.run").status == 200)
            // Another node writes two snapshots of its own into the same repository.
            let other = try Repository(at: k.repository).enroll(node: "other-node", identities: [k.identity])
            let data = k.repository.deletingLastPathComponent().appendingPathComponent("other-data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            try Data("x".utf8).write(to: data.appendingPathComponent("f"))
            for _ in 0..<2 {
                _ = try BackupWriter(repository: try Repository(at: k.repository), key: other, headURL: nil)
                    .run(sources: [BackupSource(name: "data", url: data)])
            }
            let mine = try await k.request("vault.forget.run", #"{"keep_last":1,"dry_run":true}"#)
            #expect(mine.status == 200, "\(mine.text)")
            #expect((mine.json["decisions"] as? [String: Any])?.keys.sorted() == ["test-node"])
            let all = try await k.request("vault.forget.run", #"{"keep_last":1,"all_nodes":true}"#)
            #expect(all.status == 200, "\(all.text)")
            #expect(all.json["removed"] as? Int == 1)
            #expect(
                try RepositoryReader(repository: try Repository(at: k.repository), identities: [k.identity]).catalog.snapshots
                    .count == 2)
        }
    }

    @Test func anUnconfiguredVaultIdlesAndSaysWhy() async throws {
        try await VaultKernel.with(configured: false) { k in
            _ = await eventually { k.test.kernel.plugin(named: "vault")?.health != nil }
            let health = k.test.kernel.plugin(named: "vault")?.health
            #expect(health?.detail.contains("repository") == true)
            let list = try await k.request("vault.snapshots.list")
            #expect(list.status == 409)
        }
    }
}
