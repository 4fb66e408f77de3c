import Foundation
import JameyTestKit
import Testing
import VaultCore

extension VaultSerial {
    /// `kill -9` in the middle of a backup, a prune and a restore: the repository verifies afterwards,
    /// the target is intact, and the next run succeeds.
    @Suite struct CrashTests {
        var jamey: String { TestPlugins.buildDirectory + "/jamey" }

        func start(_ arguments: [String]) throws -> ChildProcess {
            try ChildProcess(jamey, ["vault"] + arguments)
        }

        func count(_ directory: URL) -> Int {
            (FileManager.default.enumerator(atPath: directory.path)?.allObjects.count) ?? 0
        }

        func killWhen(_ child: ChildProcess, _ condition: @escaping @Sendable () -> Bool) async {
            _ = await eventually(timeout: .seconds(120), polling: .milliseconds(1)) { condition() || !child.isRunning }
            child.send(SIGKILL)
            _ = await onThread { child.waitForExit(timeout: .seconds(30)) }
        }

        @Test func killedMidBackupLeavesAVerifiableRepository() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            for number in 0..<4 { try f.write("file\(number)", Fixture.random(6 << 20)) }
            _ = try await f.backup()
            for number in 0..<4 { try f.write("new\(number)", Fixture.random(6 << 20)) }
            let packs = f.repoURL.appendingPathComponent("packs")
            let before = count(packs)
            let child = try start([
                "backup", "--repository", f.repoURL.path, "--node-key", f.keyURL.path, "--data-dir", f.data.path,
            ])
            let counter = count
            await killWhen(child) { counter(packs) > before + 1 }
            #expect(try await f.verify().problems == [])
            // The killed run may have finished first on a fast machine; either way the next one chains on.
            let written = SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey).snapshots.count
            let next = try await f.backup()
            #expect(next.seq == written + 1)
            #expect(try await f.verify().problems == [])
        }

        @Test func killedMidPruneLeavesAVerifiableRepository() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            for day in 0..<8 {
                for number in 0..<3 { try f.write("f\(number)", Fixture.random(3 << 20)) }
                _ = try await f.backup(time: Date(timeIntervalSince1970: 1_700_000_000 + Double(day) * 86_400))
            }
            var policy = RetentionPolicy()
            policy.keepLast = 1
            _ = try Maintenance(repository: try f.repository, key: f.key).forget(policy: policy, dryRun: false)
            let index = f.repoURL.appendingPathComponent("index")
            let before = count(index)
            let identityFile = f.root.appendingPathComponent("identity.txt")
            try f.identity.fileText().write(to: identityFile, atomically: true, encoding: .utf8)
            let child = try start(
                ["prune", "--repository", f.repoURL.path, "--node-key", f.keyURL.path, "--identity", identityFile.path])
            let counter = count
            await killWhen(child) { counter(index) < before - 2 }
            #expect(try await f.verify().problems == [])
            let report = try Maintenance(repository: try f.repository, key: f.key).prune(dryRun: false, identities: [f.identity])
            #expect(report.packsDeleted + report.packsRepacked >= 0)
            #expect(try await f.verify().problems == [])
            #expect(try await f.backup().seq == 9)
        }

        @Test func killedMidRestoreLeavesTheTargetAsItWas() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            for number in 0..<6 { try f.write("big\(number)", Fixture.random(8 << 20)) }
            _ = try await f.backup()
            let identityFile = f.root.appendingPathComponent("identity.txt")
            try f.identity.fileText().write(to: identityFile, atomically: true, encoding: .utf8)
            let target = f.root.appendingPathComponent("live")
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try Data("current".utf8).write(to: target.appendingPathComponent("marker"))
            let child = try start(
                ["restore", "--repository", f.repoURL.path, "--identity", identityFile.path, "--target", target.path])
            let root = f.root
            await killWhen(child) {
                ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).contains {
                    $0.hasPrefix(".live.vault-restore-")
                }
            }
            let marker = try? Data(contentsOf: target.appendingPathComponent("marker"))
            let switched = FileManager.default.fileExists(atPath: target.appendingPathComponent("big0").path)
            // Either the old content is untouched, or the restore had completed; never a mix.
            #expect(marker == Data("current".utf8) || switched)
            let rerun = try await run(
                jamey,
                ["vault", "restore", "--repository", f.repoURL.path, "--identity", identityFile.path, "--target", target.path])
            #expect(rerun.status == 0, "\(rerun.output)")
            #expect(
                try Data(contentsOf: target.appendingPathComponent("big3"))
                    == Data(contentsOf: f.data.appendingPathComponent("big3"))
            )
            let kept = try FileManager.default.contentsOfDirectory(atPath: f.root.path).filter {
                $0.hasPrefix("live.before-restore-")
            }
            #expect(!kept.isEmpty)
            #expect(
                !(try FileManager.default.contentsOfDirectory(atPath: f.root.path)).contains {
                    $0.hasPrefix(".live.vault-restore-")
                })
        }
    }
}
