import Foundation
import JameyTestKit
import Testing

@testable import VaultCore

extension VaultSerial {
    /// Prune deletes only what it knows no snapshot needs: a snapshot or index it cannot read or
    /// trust stops it or keeps the pack, never frees chunks a kept snapshot needs.
    @Suite struct PruneSafetyTests {
        /// Three snapshots, each adding a file; the newest alone needs the third file's chunks.
        func threeSnapshots() async throws -> Fixture {
            let f = try Fixture()
            for (number, name) in ["one", "two", "three"].enumerated() {
                try f.write(name, Fixture.random(300_000))
                _ = try await f.backup(time: Date(timeIntervalSince1970: 1_700_000_000 + Double(number) * 3600))
            }
            return f
        }

        func names(_ f: Fixture, _ directory: String) throws -> [String] {
            try FileManager.default.subpathsOfDirectory(atPath: f.repoURL.appendingPathComponent(directory).path)
                .filter { $0.count >= 64 }.map { ($0 as NSString).lastPathComponent }.sorted()
        }

        func prune(_ f: Fixture) throws -> PruneReport {
            // Two hours on: packs without an index count as leftovers from then.
            try Maintenance(repository: try f.repository, key: f.key).prune(dryRun: false, now: Date() + 7200)
        }

        /// Replaces a file by a directory of the same name: it is listed and cannot be read (the
        /// tests run as root, whom file modes do not stop).
        func makeUnreadable(_ url: URL) throws {
            try FileManager.default.removeItem(at: url)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        }

        @Test func aPackWhoseIndexIsAlteredOrUnreadableIsKept() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let indexes = try names(f, "index")
            try #require(indexes.count == 3)
            let index = f.repoURL.appendingPathComponent("index")
            var altered = try Data(contentsOf: index.appendingPathComponent(indexes[0]))
            altered[altered.count - 1] ^= 0x01
            try altered.write(to: index.appendingPathComponent(indexes[0]))
            try makeUnreadable(index.appendingPathComponent(indexes[1]))
            let before = try names(f, "packs")
            let report = try prune(f)
            #expect(report.packsKept == 2)
            #expect(report.leftoversRemoved == 0)
            #expect(try names(f, "packs") == before)
            let verified = try await f.verify(restore: false)
            #expect(verified.problems.contains { $0.kind == .unreadable && $0.subject == indexes[1] }, "\(verified.problems)")
        }

        @Test func aSnapshotThatCannotBeReadStopsPrune() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let snapshots = SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey).snapshots
            let newest = try #require(snapshots.last)
            let packs = try names(f, "packs")
            let indexes = try names(f, "index")
            try makeUnreadable(f.repoURL.appendingPathComponent("snapshots").appendingPathComponent(newest.id))
            #expect { try prune(f) } throws: { "\($0)".contains("prune refused") && "\($0)".contains("cannot be read") }
            #expect(try names(f, "packs") == packs)
            #expect(try names(f, "index") == indexes)
            let verified = try await f.verify(restore: false)
            #expect(verified.problems.contains { $0.kind == .unreadable && $0.subject == newest.id }, "\(verified.problems)")
        }

        @Test func aSnapshotsDirectoryThatCannotBeListedStopsPrune() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let packs = try names(f, "packs")
            let directory = f.repoURL.appendingPathComponent("snapshots")
            let aside = f.root.appendingPathComponent("snapshots-aside")
            try FileManager.default.moveItem(at: directory, to: aside)
            try Data("not a directory".utf8).write(to: directory)
            #expect { try prune(f) } throws: { "\($0)".contains("prune refused") && "\($0)".contains("cannot list") }
            #expect(try names(f, "packs") == packs)
        }

        /// A chunk whose pack is gone is stored again by the next backup, which can then be
        /// restored (backups deduplicated against the lost pack and every later snapshot lacked it).
        @Test func aBackupAfterAPackIsLostStoresItsChunksAgain() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let packs = f.repoURL.appendingPathComponent("packs")
            for sub in try FileManager.default.contentsOfDirectory(atPath: packs.path) {
                try FileManager.default.removeItem(at: packs.appendingPathComponent(sub))
            }
            let result = try await f.backup(time: Date(timeIntervalSince1970: 1_700_010_800))
            #expect(result.bytesAdded >= 900_000, "\(result)")
            let reader = try f.reader()
            let latest = try reader.catalog.find("latest")
            let target = f.root.appendingPathComponent("restored")
            _ = try await onThread { try reader.restore(latest, source: "data", to: target) }
            for name in ["one", "two", "three"] {
                #expect(
                    try Data(contentsOf: target.appendingPathComponent(name))
                        == Data(contentsOf: f.data.appendingPathComponent(name)))
            }
        }
    }
}
