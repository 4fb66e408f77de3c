import Crypto
import Foundation
import JameyTestKit
import Testing

@testable import VaultCore

extension VaultSerial {
    /// `jamey vault rotate`: new recipients for new data, the old identity retired, the signing key
    /// rotated with the node's chain continuing.
    @Suite struct RotationTests {
        /// Rotates the fixture's node to a new identity; returns it and the node's new key.
        func rotate(_ f: Fixture, reencrypt: Bool = false) throws -> (identity: AgeIdentity, key: NodeKey, result: RotationResult)
        {
            let next = AgeIdentity.generate()
            let (key, result) = try KeyRotation(repository: try f.repository, key: f.key)
                .rotate(to: [next.recipient], identities: [f.identity], reencrypt: reencrypt)
            return (next, key, result)
        }

        /// A rotation killed after the repository retired the old signing key and before the key
        /// file was written: the next use of the key file finishes it (the old key went on
        /// signing, its snapshots were `signature-invalid` and the backup after refused as a
        /// rollback). One killed before the repository learned the new key is dropped.
        @Test func aRotationInterruptedBeforeTheKeyFileWasWrittenIsFinished() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            try f.write("a", Fixture.random(100_000))
            _ = try await f.backup()
            let pending = NodeKey.pendingURL(for: f.keyURL)
            let next = AgeIdentity.generate()
            // The caller's write of the key file never happens.
            let (rotated, _) = try KeyRotation(repository: try f.repository, key: f.key)
                .rotate(to: [next.recipient], identities: [f.identity], reencrypt: false, pending: pending)
            #expect(try NodeKey.read(f.keyURL).signingKey == f.key.signingKey)
            let settled = try NodeKey.read(f.keyURL, settlingRotationIn: try f.repository)
            #expect(settled.signingKey == rotated.signingKey)
            #expect(try NodeKey.read(f.keyURL).signingKey == rotated.signingKey)
            #expect(!FileManager.default.fileExists(atPath: pending.path))
            try f.write("b", Fixture.random(100_000))
            let second = try BackupWriter(repository: try f.repository, key: settled, headURL: f.headURL)
                .run(sources: [BackupSource(name: "data", url: f.data)])
            #expect(second.seq == 2)
            #expect(SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey).problems == [])

            // Killed before the repository learned it: a next key it never enrolled is dropped.
            var unknown = settled
            unknown.signingKey = Curve25519.Signing.PrivateKey().rawRepresentation
            try unknown.write(pending)
            #expect(try NodeKey.read(f.keyURL, settlingRotationIn: try f.repository).signingKey == settled.signingKey)
            #expect(!FileManager.default.fileExists(atPath: pending.path))
        }

        @Test func theNewIdentityReadsEverythingAndNewDataIsOnlyForIt() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            let before = Fixture.random(300_000)
            try f.write("a", before)
            let first = try await f.backup()
            let (next, key, result) = try rotate(f)
            #expect(result.epoch != nil)
            #expect(result.retiredAfterSeq == 1)
            #expect(key.recipients == [next.recipient.description])
            #expect(key.signingKey != f.key.signingKey)
            let after = Fixture.random(300_000)
            try f.write("b", after)
            let second = try BackupWriter(repository: try f.repository, key: key, headURL: f.headURL)
                .run(sources: [BackupSource(name: "data", url: f.data)])
            // The chain goes on: #2 follows #1, signed with the new key.
            #expect(second.seq == 2)
            let catalog = SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey)
            #expect(catalog.problems == [])
            #expect(try catalog.find(second.snapshot).header.previous == first.snapshot)
            // The new identity alone reads both snapshots (the first through the retired identity).
            let reader = try RepositoryReader(repository: try f.repository, identities: [next])
            for (snapshot, name, bytes) in [(first.snapshot, "a", before), (second.snapshot, "b", after)] {
                let target = f.root.appendingPathComponent("out-\(name)")
                _ = try reader.restore(try catalog.find(snapshot), source: "data", to: target)
                #expect(try Data(contentsOf: target.appendingPathComponent(name)) == bytes)
            }
            var options = VerifyOptions()
            options.head = try ChainHead.read(f.headURL)
            options.node = f.key.node
            #expect(reader.verify(options).problems == [])
            // The old identity opens nothing written after the rotation.
            let old = try RepositoryReader(repository: try f.repository, identities: [f.identity])
            let error = #expect(throws: VaultError.self) {
                _ = try old.restore(try catalog.find(second.snapshot), source: "data", to: f.root.appendingPathComponent("old"))
            }
            #expect(error?.code == .badKey)
        }

        @Test func reencryptLeavesNoPackTheOldIdentityOpens() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            let bytes = Fixture.random(500_000)
            try f.write("a", bytes)
            _ = try await f.backup()
            let packsBefore = Set(try f.repository.packSizes().keys)
            let (next, _, result) = try rotate(f, reencrypt: true)
            #expect(result.packsReencrypted == packsBefore.count)
            let repository = try f.repository
            let packs = repository.packSizes().keys
            #expect(Set(packs).isDisjoint(with: packsBefore))
            for pack in packs {
                let sealed = try Data(contentsOf: repository.layout.pack(pack))
                #expect(throws: VaultError.self) { try Age.decrypt(sealed, identities: [f.identity]) }
                #expect(try Age.decrypt(sealed, identities: [next]).count > 0)
            }
            let reader = try RepositoryReader(repository: repository, identities: [next])
            #expect(reader.verify(VerifyOptions()).problems == [])
            let target = f.root.appendingPathComponent("out")
            _ = try reader.restore(
                try SnapshotCatalog(repository: repository, chunkKey: f.key.chunkKey).find("latest"), source: "data", to: target)
            #expect(try Data(contentsOf: target.appendingPathComponent("a")) == bytes)
        }

        @Test func theRetiredSigningKeyCannotExtendTheChain() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            try f.write("a", Fixture.random(10_000))
            _ = try await f.backup()
            let (next, _, _) = try rotate(f)
            // Someone holding the old node key writes snapshot #2 with it.
            try f.write("a", Fixture.random(10_000))
            let forged = try BackupWriter(repository: try f.repository, key: f.key, headURL: nil)
                .run(sources: [BackupSource(name: "data", url: f.data)])
            let catalog = SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey)
            let problem = try #require(catalog.problems.first)
            #expect(problem.kind == .signatureInvalid)
            #expect(problem.subject == forged.snapshot)
            #expect(problem.message.contains("retired"))
            #expect(!catalog.snapshots.contains { $0.id == forged.snapshot })
            #expect(!(try RepositoryReader(repository: try f.repository, identities: [next]).verify(VerifyOptions()).ok))
        }

        @Test func anotherNodeRotatesItsOwnKeyWithoutTheIdentity() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            try f.write("a", Fixture.random(10_000))
            let beta = try f.repository.enroll(node: "beta", identities: [f.identity])
            _ = try BackupWriter(repository: try f.repository, key: beta, headURL: nil)
                .run(sources: [BackupSource(name: "data", url: f.data)])
            let (next, _, _) = try rotate(f)
            let (betaKey, result) = try KeyRotation(repository: try f.repository, key: beta)
                .rotate(to: [next.recipient], identities: nil, reencrypt: false)
            #expect(result.epoch == nil)
            #expect(betaKey.recipients == [next.recipient.description])
            let error = #expect(throws: VaultError.self) {
                try KeyRotation(repository: try f.repository, key: beta).rotate(
                    to: [next.recipient], identities: nil, reencrypt: true)
            }
            #expect(error?.message.contains("--identity") == true)
            let second = try BackupWriter(repository: try f.repository, key: betaKey, headURL: nil)
                .run(sources: [BackupSource(name: "data", url: f.data)])
            #expect(second.seq == 2)
            // A node enrolled after the rotation encrypts to the new recipients.
            let gamma = try f.repository.enroll(node: "gamma", identities: [next])
            #expect(gamma.recipients == [next.recipient.description])
            #expect(try RepositoryReader(repository: try f.repository, identities: [next]).verify(VerifyOptions()).problems == [])
        }
    }

    /// `forget` acts on this node's snapshots unless told every node's; a cancelled backup leaves
    /// a repository that verifies.
    @Suite struct ForgetScopeTests {
        @Test func forgetIsScopedToThisNodeByDefault() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            let beta = try f.repository.enroll(node: "beta", identities: [f.identity])
            for day in 0..<3 {
                try f.write("a", Fixture.random(20_000))
                let time = Date(timeIntervalSince1970: 1_700_000_000 + Double(day) * 86_400)
                _ = try await f.backup(time: time)
                _ = try BackupWriter(repository: try f.repository, key: beta, headURL: nil)
                    .run(sources: [BackupSource(name: "data", url: f.data)], time: time)
            }
            var policy = RetentionPolicy()
            policy.keepLast = 1
            let mine = try Maintenance(repository: try f.repository, key: f.key).forget(policy: policy, dryRun: false)
            #expect(Set(mine.decisions.keys) == ["alpha"])
            #expect(mine.removed == 2)
            var catalog = SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey)
            #expect(catalog.snapshots.filter { $0.header.node == "beta" }.count == 3)
            let all = try Maintenance(repository: try f.repository, key: f.key)
                .forget(policy: policy, dryRun: false, allNodes: true)
            #expect(Set(all.decisions.keys) == ["alpha", "beta"])
            #expect(all.removed == 2)
            catalog = SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey)
            #expect(catalog.snapshots.count == 2)
            #expect(catalog.problems == [])
        }

        @Test func aCancelledBackupWritesNoSnapshotAndTheNextOneSucceeds() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            try f.write("big", Fixture.random(6 << 20))
            var writer = try BackupWriter(repository: try f.repository, key: f.key, headURL: f.headURL)
            writer.segmentSize = 1 << 20
            writer.packSize = 1 << 20
            writer.cancellation = BackupCancellation(afterChecks: 3)
            let error = #expect(throws: VaultError.self) { try writer.run(sources: [BackupSource(name: "data", url: f.data)]) }
            #expect(error?.code == .cancelled)
            #expect(SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey).snapshots.isEmpty)
            #expect(!(try f.repository.packSizes().isEmpty))
            #expect(try await f.verify().problems == [])
            let result = try await f.backup()
            #expect(result.seq == 1)
            #expect(try await f.verify().problems == [])
        }
    }
}
