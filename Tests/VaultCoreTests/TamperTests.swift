import Crypto
import Foundation
import JameyTestKit
import Testing

@testable import VaultCore

extension VaultSerial {
    /// Each kind of damage to a repository is found by verify and named.
    @Suite struct TamperTests {
        /// A repository with three snapshots of a node.
        func threeSnapshots() async throws -> Fixture {
            let f = try Fixture()
            try f.write("one", Fixture.random(300_000))
            _ = try await f.backup(time: Date(timeIntervalSince1970: 1_700_000_000))
            try f.write("two", Fixture.random(300_000))
            _ = try await f.backup(time: Date(timeIntervalSince1970: 1_700_003_600))
            try f.write("three", Fixture.random(300_000))
            _ = try await f.backup(time: Date(timeIntervalSince1970: 1_700_007_200))
            return f
        }

        func files(_ f: Fixture, _ directory: String) -> [URL] {
            let base = f.repoURL.appendingPathComponent(directory)
            let enumerator = FileManager.default.enumerator(atPath: base.path)
            var urls: [URL] = []
            while let path = enumerator?.nextObject() as? String {
                var isDirectory: ObjCBool = false
                let url = base.appendingPathComponent(path)
                if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    urls.append(url)
                }
            }
            return urls.sorted { $0.path < $1.path }
        }

        func kinds(_ report: VerifyReport) -> Set<String> { Set(report.problems.map(\.kind.name)) }

        func snapshots(_ f: Fixture) throws -> [SnapshotManifest] {
            SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey).snapshots
        }

        @Test func anUntouchedRepositoryVerifies() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let report = try await f.verify()
            #expect(report.problems == [])
            #expect(report.snapshots == 3)
            #expect(report.packsChecked == 3)
        }

        @Test func aFlippedByteInAPackIsNamed() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let pack = try #require(files(f, "packs").first)
            var data = try Data(contentsOf: pack)
            data[data.count / 2] ^= 0x20
            try data.write(to: pack)
            let report = try await f.verify()
            #expect(kinds(report).contains("pack-altered"))
            #expect(report.problems.contains { $0.subject == pack.lastPathComponent })
        }

        @Test func aFlippedTagOrHeaderByteInAPackIsNamed() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let packs = try files(f, "packs")
            #expect(packs.count >= 2)
            // The last byte is a Poly1305 tag (in the name); byte 30 is in the age header.
            for (pack, position) in zip(packs.prefix(2), [-1, 30]) {
                var data = try Data(contentsOf: pack)
                data[position < 0 ? data.count - 1 : position] ^= 0x20
                try data.write(to: pack)
            }
            let report = try await f.verify()
            for pack in packs.prefix(2) {
                #expect(report.problems.contains { $0.kind == .packAltered && $0.subject == pack.lastPathComponent })
            }
        }

        @Test func aMissingPackIsNamedWithTheChunksItHeld() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let pack = try #require(files(f, "packs").first)
            try FileManager.default.removeItem(at: pack)
            let report = try await f.verify()
            #expect(kinds(report).contains("pack-missing"))
            #expect(report.problems.contains { $0.kind == .packMissing && $0.subject == pack.lastPathComponent })
        }

        @Test func aMissingChunkIsNamed() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let index = try #require(files(f, "index").first)
            try FileManager.default.removeItem(at: index)
            let report = try await f.verify()
            #expect(kinds(report).contains("chunk-missing"))
        }

        @Test func reorderedIndexEntriesAreNamed() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            try f.write("db", Data("SQLite format 3\0".utf8) + Data([0x02, 0x00]) + Fixture.random(512 * 8 - 18))
            _ = try await f.backup()
            let index = try #require(files(f, "index").first)
            var data = try Data(contentsOf: index)
            // Swap the offsets of the first two entries (magic 7 bytes + count 4; entry = id 32 + offset 4 + length 4).
            let first = 7 + 4 + 32
            let second = first + 40
            let a = data[first..<first + 4]
            let b = data[second..<second + 4]
            data.replaceSubrange(first..<first + 4, with: b)
            data.replaceSubrange(second..<second + 4, with: a)
            try data.write(to: index)
            let report = try await f.verify()
            #expect(kinds(report).contains("index-altered"))
        }

        @Test func anAlteredManifestIsNamed() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let snapshot = try snapshots(f)[1]
            let url = f.repoURL.appendingPathComponent("snapshots/\(snapshot.id)")
            var data = try Data(contentsOf: url)
            let range = try #require(data.range(of: Data("\"seq\":2".utf8)))
            data.replaceSubrange(range, with: Data("\"seq\":9".utf8))
            // Keep the name matching the content, as an attacker would: only the signature can tell.
            try FileManager.default.removeItem(at: url)
            try data.write(to: f.repoURL.appendingPathComponent("snapshots/\(data.sha256Hex)"))
            let report = try await f.verify()
            #expect(report.problems.contains { $0.kind == .signatureInvalid && $0.subject == data.sha256Hex })
            #expect(kinds(report).contains("snapshot-deleted"))
        }

        @Test func aDeletedSnapshotIsNamed() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let middle = try snapshots(f)[1]
            try FileManager.default.removeItem(at: f.repoURL.appendingPathComponent("snapshots/\(middle.id)"))
            let report = try await f.verify()
            #expect(report.problems.contains { $0.kind == .snapshotDeleted && $0.subject == "alpha#2" })
        }

        @Test func aForgottenSnapshotIsNotTampering() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let middle = try snapshots(f)[1]
            try Maintenance(repository: try f.repository, key: f.key).remove([middle])
            #expect(try await f.verify().problems == [])
        }

        @Test func aRolledBackRepositoryIsNamed() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            // The host restores an older copy: the newest snapshot (and its forget-free tail) disappears.
            let newest = try #require(try snapshots(f).last)
            try FileManager.default.removeItem(at: f.repoURL.appendingPathComponent("snapshots/\(newest.id)"))
            let report = try await f.verify()
            #expect(report.problems.contains { $0.kind == .rolledBack })
            // The node refuses to write on top of a rolled-back repository.
            await #expect(throws: VaultError.self) { try await f.backup() }
        }

        /// Someone with write access to the repository but not the chunk key (the backup host) adds
        /// a signing key of their own to `keys/` and a snapshot signed with it that claims to be the
        /// newest: an old state of the data posing as `latest`. The key was never enrolled, so the
        /// snapshot is not trusted, `latest` stays the real one, and verify names both files.
        @Test func aForgedSnapshotSignedWithAnAddedKeyIsNamed() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let genuine = try snapshots(f)
            let keyFiles = files(f, "keys").filter { $0.lastPathComponent.hasPrefix("node-") }
            let enrolled = try JSONCoding.decoder().decode(NodePublicKey.self, from: Data(contentsOf: keyFiles[0]))
            let forger = Curve25519.Signing.PrivateKey()
            var record = NodePublicKey(node: "mallory", signingKey: forger.publicKey.rawRepresentation, created: Date())
            // Replaying the enrolled key's tag does not help: the tag covers the key itself.
            record.enrollment = enrolled.enrollment
            let keyName = "node-mallory-0123456789abcdef"
            try JSONCoding.encoder().encode(record).write(to: f.repoURL.appendingPathComponent("keys/\(keyName)"))
            var header = genuine[0].header
            header.node = "mallory"
            header.seq = 1
            header.previous = nil
            header.signingKey = forger.publicKey.rawRepresentation
            header.time = genuine[2].header.time.addingTimeInterval(3600)
            let forged = try SnapshotManifest.encode(header, signer: forger)
            try forged.write(to: f.repoURL.appendingPathComponent("snapshots/\(forged.sha256Hex)"))

            let catalog = SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey)
            #expect(catalog.snapshots.map(\.id) == genuine.map(\.id))
            #expect(try catalog.find("latest").id == genuine[2].id)
            let report = try await f.verify()
            #expect(report.problems.contains { $0.kind == .keyForged && $0.subject == keyName }, "\(report.problems)")
            #expect(
                report.problems.contains { $0.kind == .signatureInvalid && $0.subject == forged.sha256Hex },
                "\(report.problems)")
            // The genuine keys stay trusted: nothing else is reported.
            #expect(report.problems.count == 2, "\(report.problems)")
        }

        /// Key records are not signed: someone with write access to the repository (not the chunk
        /// key) seals a key of their own to its public recipient in a rotation record dated later
        /// than any. Every record the identity opens must hold one key, and the node key's: the
        /// forged record is refused instead of choosing the key that decides which signers are
        /// trusted.
        @Test func aForgedKeyRecordSealingAnotherChunkKeyIsRefused() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let chosen = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
            let epoch = KeyEpoch(
                created: Date(timeIntervalSince1970: 4_102_444_800), recipients: [f.identity.recipient.description],
                replaces: [], chunkKey: try Age.encrypt(chosen, to: [f.identity.recipient]),
                retired: try Age.encrypt(Data(), to: [f.identity.recipient]))
            let data = try JSONCoding.encoder().encode(epoch)
            let record = f.repoURL.appendingPathComponent("keys/epoch-\(data.sha256Hex)")
            try data.write(to: record)
            #expect {
                try RepositoryReader(repository: try f.repository, identities: [f.identity])
            } throws: { "\($0)".contains("hold different chunk keys: one was forged") }
            #expect {
                try RepositoryReader(repository: try f.repository, identities: [f.identity], chunkKey: f.key.chunkKey)
            } throws: { "\($0)".contains("holds another chunk key than the node key's") }

            // The whole set replaced (chunk-key.age too): only the node key, kept off the
            // repository, tells.
            try FileManager.default.removeItem(at: record)
            try Age.encrypt(chosen, to: [f.identity.recipient]).write(to: f.repoURL.appendingPathComponent("keys/chunk-key.age"))
            #expect {
                try RepositoryReader(repository: try f.repository, identities: [f.identity], chunkKey: f.key.chunkKey)
            } throws: { "\($0)".contains("is not this repository's (the node key's)") }
        }

        /// A pack's size is the file's word until its content is authenticated: a sparse terabyte
        /// in its place is named, not allocated (which stopped the process).
        @Test func aPackReplacedByAHugeSparseFileIsNamedNotRead() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let pack = try #require(files(f, "packs").first)
            try #require(truncate(pack.path, 1 << 40) == 0)
            let report = try await f.verify()
            #expect(
                report.problems.contains { $0.kind == .packAltered && $0.message.contains("not a regular file of at most") },
                "\(report.problems)")
        }

        /// A file list may only name paths inside the directory restored into. It is signed, but
        /// by any key the repository enrolled, so its paths are checked all the same.
        @Test func aFileListThatWritesOutsideTheRestoreIsRefused() throws {
            func entry(_ path: String, _ type: String = "file") throws -> FileEntry {
                let json = #"{"source":"s","path":"\#(path)","type":"\#(type)","size":0,"mode":420,"mtime":0}"#
                return try JSONDecoder().decode(FileEntry.self, from: Data(json.utf8))
            }
            try RepositoryReader.checkPaths([entry("", "dir"), entry("a", "dir"), entry("a/b.txt"), entry("l", "symlink")])
            for bad in try [[entry("../escape")], [entry("/etc/passwd")], [entry("a/../../x")], [entry("a//b")], [entry("./a")]] {
                #expect(throws: VaultProblem.self, "\(bad.map(\.path))") { try RepositoryReader.checkPaths(bad) }
            }
            #expect(throws: VaultProblem.self) {
                try RepositoryReader.checkPaths([entry("link", "symlink"), entry("link/file")])
            }
            // A file at a symbolic link's own path would be written through the link.
            #expect(throws: VaultProblem.self) {
                try RepositoryReader.checkPaths([entry("x", "symlink"), entry("x")])
            }
            #expect(throws: VaultProblem.self) { try RepositoryReader.checkPaths([entry("a"), entry("a")]) }
        }

        /// An index copied under a name that sorts first names a pack that does not exist; the
        /// chunks it lists are read from the index whose pack is stored (a restore failed with
        /// "pack missing" though every pack was intact).
        @Test func anIndexCopiedUnderAnotherNameDoesNotHideItsPack() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let index = try #require(files(f, "index").first)
            let copy = index.deletingLastPathComponent().appendingPathComponent(String(repeating: "0", count: 64))
            try FileManager.default.copyItem(at: index, to: copy)
            let reader = try f.reader()
            let latest = try reader.catalog.find("latest")
            let target = f.root.appendingPathComponent("restored")
            _ = try await onThread { try reader.restore(latest, source: "data", to: target) }
            #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("three").path))
        }

        @Test func aSwappedPackFileIsNamed() async throws {
            let f = try await threeSnapshots()
            defer { f.destroy() }
            let packs = files(f, "packs")
            try #require(packs.count >= 2)
            let first = try Data(contentsOf: packs[0])
            try Data(contentsOf: packs[1]).write(to: packs[0])
            try first.write(to: packs[1])
            let report = try await f.verify()
            #expect(report.problems.filter { $0.kind == .packAltered }.count == 2)
        }
    }
}

extension VaultSerial {
    /// `verify --subset k/n` spreads the packs over runs; a progress file lets an interrupted run resume.
    @Suite struct VerifySubsetTests {
        @Test func subsetsCoverEveryPackOnceAndProgressResumes() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            for number in 0..<5 {
                try f.write("f\(number)", Fixture.random(300_000))
                _ = try await f.backup()
            }
            let reader = try f.reader()
            let total = reader.index.packs.count
            var checked = 0
            for k in 1...3 {
                var options = VerifyOptions()
                options.subset = try VerifyOptions.parseSubset("\(k)/3")
                options.restore = false
                let chosen = options
                let report = await onThread { reader.verify(chosen) }
                #expect(report.problems == [])
                checked += report.packsChecked
            }
            #expect(checked == total)
            // An interrupted run recorded two packs as done: the next run skips them.
            let progress = f.root.appendingPathComponent("progress")
            try reader.index.packs.keys.sorted().prefix(2).joined(separator: "\n").write(
                to: progress, atomically: true, encoding: .utf8)
            var options = VerifyOptions()
            options.progress = progress
            options.restore = false
            let resuming = options
            let resumed = await onThread { reader.verify(resuming) }
            #expect(resumed.packsSkipped == 2)
            #expect(resumed.packsChecked == total - 2)
            #expect(!FileManager.default.fileExists(atPath: progress.path))
            // A subset's run that finishes ends its progress too: the next run of the subset
            // checks its packs again (it skipped them all and said ok).
            // The part the first pack is in (a part may hold none of five packs).
            let part = try RepositoryReader.bucket(#require(reader.index.packs.keys.sorted().first), of: 3) + 1
            for _ in 0..<2 {
                var subset = VerifyOptions()
                subset.subset = try VerifyOptions.parseSubset("\(part)/3")
                subset.progress = progress
                subset.restore = false
                let chosen = subset
                let report = await onThread { reader.verify(chosen) }
                #expect(report.packsChecked > 0)
                #expect(report.packsChecked + report.packsSkipped == total)
                #expect(!FileManager.default.fileExists(atPath: progress.path))
            }
            // A progress file that is a symbolic link (the directory is shared) is not followed.
            let planted = f.root.appendingPathComponent("planted")
            try reader.index.packs.keys.sorted().joined(separator: "\n").write(to: planted, atomically: true, encoding: .utf8)
            try FileManager.default.createSymbolicLink(at: progress, withDestinationURL: planted)
            let notPlanted = await onThread { reader.verify(resuming) }
            #expect(notPlanted.packsSkipped == 0)
            #expect(notPlanted.packsChecked == total)
            #expect(throws: VaultError.self) { try VerifyOptions.parseSubset("0/3") }
        }
    }
}
