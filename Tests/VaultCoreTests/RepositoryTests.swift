import Foundation
import GRDB
import Testing

@testable import VaultCore

extension VaultSerial {
    @Suite struct RepositoryTests {
        @Test func backupAndRestoreAreBitExact() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            try f.write("a/small.txt", Data("hello".utf8))
            try f.write("a/empty", Data())
            try f.write("big.bin", Fixture.random(5 << 20))
            try FileManager.default.createDirectory(
                at: f.data.appendingPathComponent("emptydir"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: f.data.appendingPathComponent("link").path, withDestinationPath: "a/small.txt")
            _ = try f.makeDatabase("plugin/store.sqlite", rows: 2000)
            let result = try await f.backup()
            #expect(result.fileCount == 4)
            let reader = try f.reader()
            let catalog = SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey)
            let target = f.root.appendingPathComponent("restored")
            let restored = try reader.restore(try catalog.find("latest"), source: "data", to: target)
            #expect(restored.previous == nil)
            for name in ["a/small.txt", "a/empty", "big.bin", "plugin/store.sqlite"] {
                #expect(
                    try Data(contentsOf: target.appendingPathComponent(name))
                        == Data(contentsOf: f.data.appendingPathComponent(name)),
                    "\(name)")
            }
            #expect(
                try FileManager.default.destinationOfSymbolicLink(atPath: target.appendingPathComponent("link").path)
                    == "a/small.txt"
            )
            #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("emptydir").path))
            #expect(try await f.verify().problems == [])
        }

        @Test func restoreOverExistingDataKeepsTheOldCopyBeside() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            try f.write("x", Data("first".utf8))
            _ = try await f.backup()
            try f.write("x", Data("second".utf8))
            let catalog = SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey)
            let result = try f.reader().restore(try catalog.find("latest"), source: "data", to: f.data)
            #expect(try Data(contentsOf: f.data.appendingPathComponent("x")) == Data("first".utf8))
            let previous = try #require(result.previous)
            #expect(try Data(contentsOf: URL(fileURLWithPath: previous).appendingPathComponent("x")) == Data("second".utf8))
        }

        /// A restore killed while switching never loses what was at the target: a leftover staging
        /// area without its note holds data the switch had moved out (or the restored copy, just
        /// before), kept as a `before-restore` copy by the next run; one with its note was never
        /// switched in and is deleted. Before, the next run deleted every leftover, and a kill
        /// between its two renames left no target at all.
        @Test func aRestoreInterruptedWhileSwitchingLosesNothing() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            try f.write("x", Data("first".utf8))
            _ = try await f.backup()
            try f.write("x", Data("second".utf8))
            let fm = FileManager.default
            let name = f.data.lastPathComponent
            func plant(_ leftover: String, _ text: String, note: Bool) throws {
                let dir = f.root.appendingPathComponent(leftover)
                try fm.createDirectory(at: dir, withIntermediateDirectories: true)
                try Data(text.utf8).write(to: dir.appendingPathComponent("x"))
                if note { try Data().write(to: f.root.appendingPathComponent(leftover + ".staging")) }
            }
            try plant(".\(name).vault-restore-aaaa-1", "exchanged out", note: false)
            try plant(".\(name).vault-restore-bbbb-2", "half staged", note: true)
            let catalog = SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey)
            let result = try f.reader().restore(try catalog.find("latest"), source: "data", to: f.data)
            #expect(try Data(contentsOf: f.data.appendingPathComponent("x")) == Data("first".utf8))
            let previous = try #require(result.previous)
            #expect(try Data(contentsOf: URL(fileURLWithPath: previous).appendingPathComponent("x")) == Data("second".utf8))
            let entries = try fm.contentsOfDirectory(atPath: f.root.path)
            #expect(!entries.contains { $0.hasPrefix(".\(name).vault-restore-") }, "\(entries)")
            let kept = try #require(entries.first { $0.hasPrefix("\(name).before-restore-") && $0.contains("-interrupted-") })
            #expect(try Data(contentsOf: f.root.appendingPathComponent(kept + "/x")) == Data("exchanged out".utf8))
        }

        /// The switch is one exchange of two names where the file system can do it.
        @Test func theSwitchExchangesTheTwoNamesAtOnce() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vault-exchange-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            try Data("a".utf8).write(to: dir.appendingPathComponent("a"))
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("b"), withIntermediateDirectories: true)
            #expect(RepositoryReader.exchange(dir.appendingPathComponent("a").path, dir.appendingPathComponent("b").path))
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("a").path, isDirectory: &isDirectory))
            #expect(isDirectory.boolValue, "the directory is under the first name now")
            #expect(try Data(contentsOf: dir.appendingPathComponent("b")) == Data("a".utf8))
            #expect(!RepositoryReader.exchange(dir.appendingPathComponent("a").path, dir.appendingPathComponent("none").path))
        }

        @Test func identicalChunksAreStoredOnceAcrossSnapshotsAndSources() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            let blob = Fixture.random(3 << 20)
            try f.write("one/blob", blob)
            let first = try await f.backup()
            #expect(first.bytesAdded == blob.count)
            let second = try await f.backup()
            #expect(second.bytesAdded == 0)
            #expect(second.chunksNew == 0)
            #expect(second.chunksDeduplicated == first.chunksNew)
            try f.write("two/copy", blob)
            let third = try await f.backup()
            #expect(third.bytesAdded == 0)
        }

        @Test func aChangedDatabaseStoresAboutItsChangedPages() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            let queue = try f.makeDatabase("db.sqlite", rows: 20_000)
            let before = try Data(contentsOf: f.data.appendingPathComponent("db.sqlite"))
            _ = try await f.backup()
            try await queue.write { db in
                for id in stride(from: 100, to: 20_000, by: 997) {
                    try db.execute(sql: "UPDATE item SET body = 'changed' WHERE id = ?", arguments: [id])
                }
            }
            try queue.close()
            let after = try Data(contentsOf: f.data.appendingPathComponent("db.sqlite"))
            let page = 4096
            var changed = 0
            for start in stride(from: 0, to: after.count, by: page) {
                let end = min(start + page, after.count)
                if start >= before.count || after[start..<end] != before[start..<min(end, before.count)] {
                    changed += end - start
                }
            }
            let incremental = try await f.backup()
            #expect(changed > 0)
            #expect(incremental.bytesAdded <= changed)
            #expect(incremental.bytesAdded > 0)
            #expect(incremental.bytesAdded < after.count / 10)
        }

        @Test func aNodeWithoutTheIdentityCannotReadItsBackups() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            try f.write("secret", Data("top secret".utf8))
            _ = try await f.backup()
            let other = AgeIdentity.generate()
            let error = #expect(throws: VaultError.self) {
                try RepositoryReader(repository: try f.repository, identities: [other])
            }
            #expect(error?.code == .badKey)
            // Nothing in the repository holds the plaintext.
            let enumerator = FileManager.default.enumerator(atPath: f.repoURL.path)
            while let path = enumerator?.nextObject() as? String {
                let data = (try? Data(contentsOf: f.repoURL.appendingPathComponent(path))) ?? Data()
                #expect(data.range(of: Data("top secret".utf8)) == nil, "\(path)")
            }
            // The node key holds no identity: its fields are the recipient, the chunk key and a signing key.
            let keyText = try String(contentsOf: f.keyURL, encoding: .utf8)
            #expect(!keyText.contains("AGE-SECRET-KEY"))
        }

        @Test func aSecondNodeWritesIntoTheSameRepositoryAndDeduplicates() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            let blob = Fixture.random(2 << 20)
            try f.write("blob", blob)
            _ = try await f.backup()
            let beta = try f.repository.enroll(node: "beta", identities: [f.identity])
            let result = try BackupWriter(repository: try f.repository, key: beta, headURL: nil)
                .run(sources: [BackupSource(name: "data", url: f.data)])
            #expect(result.bytesAdded == 0)
            #expect(result.seq == 1)
            #expect(try await f.verify().problems == [])
        }
    }
}
