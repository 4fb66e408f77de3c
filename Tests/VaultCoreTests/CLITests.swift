import Foundation
import JameyTestKit
import Testing
import VaultCore

extension VaultSerial {
    /// The offline commands, run as the operator runs them: `jamey vault ...` in a child process.
    @Suite struct CLITests {
        var jamey: String { TestPlugins.buildDirectory + "/jamey" }

        func vault(_ arguments: [String], environment: [String: String] = [:]) async throws -> Run.Result {
            var env = ProcessInfo.processInfo.environment
            env.merge(environment) { $1 }
            return try await run(jamey, ["vault"] + arguments, environment: env)
        }

        @Test func disasterRecoveryNeedsOnlyTheRepositoryAndTheIdentity() async throws {
            let dir = URL(fileURLWithPath: try TemporaryDirectory.make(prefix: "jamey-vault-cli"))
            defer { try? FileManager.default.removeItem(at: dir) }
            let identity = dir.appendingPathComponent("operator/identity.txt").path
            try FileManager.default.createDirectory(
                atPath: dir.appendingPathComponent("operator").path, withIntermediateDirectories: true)
            let keygen = try await vault(["keygen", "-o", identity])
            #expect(keygen.status == 0, "\(keygen.output)")
            let recipient = try #require(keygen.stdout.split(separator: " ").last).trimmingCharacters(in: .whitespacesAndNewlines)
            let repo = dir.appendingPathComponent("offsite/repo").path
            let key = dir.appendingPathComponent("node/vault.key").path
            let made = try await vault([
                "init", "--repository", repo, "--recipient", recipient, "--node", "n1", "--node-key", key,
            ])
            #expect(made.status == 0, "\(made.output)")
            let data = dir.appendingPathComponent("node/data")
            try FileManager.default.createDirectory(at: data.appendingPathComponent("memory"), withIntermediateDirectories: true)
            let payload = Fixture.random(1_500_000)
            try payload.write(to: data.appendingPathComponent("memory/store.bin"))
            let backup = try await vault(["backup", "--repository", repo, "--node-key", key, "--data-dir", data.path, "--json"])
            #expect(backup.status == 0, "\(backup.output)")
            let listed = try await vault(["snapshots", "--repository", repo, "--node-key", key])
            #expect(listed.stdout.contains("n1"), "\(listed.output)")
            // Listing checks who signed each snapshot, which needs the chunk key.
            let keyless = try await vault(["snapshots", "--repository", repo])
            #expect(keyless.status == 1)
            #expect(keyless.stderr.contains("--node-key or --identity"), "\(keyless.output)")
            let byIdentity = try await vault(["snapshots", "--repository", repo, "--identity", identity])
            #expect(byIdentity.stdout.contains("n1"), "\(byIdentity.output)")
            // The machine is lost: a fresh directory, the repository copy and the identity only.
            let fresh = dir.appendingPathComponent("fresh/data")
            let restored = try await vault(["restore", "--repository", repo, "--identity", identity, "--target", fresh.path])
            #expect(restored.status == 0, "\(restored.output)")
            #expect(try Data(contentsOf: fresh.appendingPathComponent("memory/store.bin")) == payload)
            // Naming the one source of a data directory's snapshot restores into the target too
            // (it went to <target>/data).
            let named = dir.appendingPathComponent("named/data")
            let bySource = try await vault([
                "restore", "--repository", repo, "--identity", identity, "--source", "data", "--target", named.path,
            ])
            #expect(bySource.status == 0, "\(bySource.output)")
            #expect(try Data(contentsOf: named.appendingPathComponent("memory/store.bin")) == payload)
            let verified = try await vault(["verify", "--repository", repo, "--identity", identity, "--node-key", key])
            #expect(verified.status == 0, "\(verified.output)")
            // The node key alone cannot restore.
            let refused = try await vault(["restore", "--repository", repo, "--identity", key, "--target", fresh.path + "2"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("identity"))
        }

        @Test func rotateRetiresTheOldIdentityAndTheNewOneRestoresEverything() async throws {
            let dir = URL(fileURLWithPath: try TemporaryDirectory.make(prefix: "jamey-vault-rotate"))
            defer { try? FileManager.default.removeItem(at: dir) }
            func keygen(_ name: String) async throws -> (file: String, recipient: String) {
                let file = dir.appendingPathComponent(name).path
                let made = try await vault(["keygen", "-o", file])
                #expect(made.status == 0, "\(made.output)")
                let recipient = try #require(made.stdout.split(separator: " ").last).trimmingCharacters(
                    in: .whitespacesAndNewlines)
                return (file, recipient)
            }
            let old = try await keygen("old.txt")
            let new = try await keygen("new.txt")
            let repo = dir.appendingPathComponent("repo").path
            let key = dir.appendingPathComponent("node.key").path
            #expect(try await vault(["init", "--repository", repo, "--recipient", old.recipient, "--node-key", key]).status == 0)
            let data = dir.appendingPathComponent("data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            let payload = Fixture.random(400_000)
            try payload.write(to: data.appendingPathComponent("a.bin"))
            #expect(try await vault(["backup", "--repository", repo, "--node-key", key, "--data-dir", data.path]).status == 0)
            let missing = try await vault(["rotate", "--repository", repo, "--node-key", key])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("--recipient"))
            let rotated = try await vault([
                "rotate", "--repository", repo, "--node-key", key, "--identity", old.file, "--recipient", new.recipient,
                "--reencrypt",
            ])
            #expect(rotated.status == 0, "\(rotated.output)")
            #expect(rotated.stdout.contains("Re-encrypted 1 packs"))
            #expect(try String(contentsOfFile: key, encoding: .utf8).contains(new.recipient))
            #expect(try await vault(["backup", "--repository", repo, "--node-key", key, "--data-dir", data.path]).status == 0)
            let verified = try await vault(["verify", "--repository", repo, "--identity", new.file, "--node-key", key])
            #expect(verified.status == 0, "\(verified.output)")
            let restored = try await vault([
                "restore", "--repository", repo, "--identity", new.file, "--target", dir.appendingPathComponent("out").path,
            ])
            #expect(restored.status == 0, "\(restored.output)")
            #expect(try Data(contentsOf: dir.appendingPathComponent("out/a.bin")) == payload)
        }

        @Test func badInputNamesTheOption() async throws {
            let missing = try await vault(["backup", "--node-key", "/nonexistent/key"])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("--repository"))
            let subset = try await vault(["verify", "--repository", "/nonexistent", "--identity", "/x", "--subset", "5/2"])
            #expect(subset.status == 1)
        }

        @Test func aPassphraseProtectedIdentityRestores() async throws {
            let dir = URL(fileURLWithPath: try TemporaryDirectory.make(prefix: "jamey-vault-cli"))
            defer { try? FileManager.default.removeItem(at: dir) }
            let env = ["JAMEY_VAULT_PASSPHRASE": "a long passphrase"]
            let identity = dir.appendingPathComponent("identity.age").path
            let keygen = try await vault(["keygen", "--passphrase", "-o", identity], environment: env)
            #expect(keygen.status == 0, "\(keygen.output)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: identity)).starts(with: Data("age-encryption.org/v1\n".utf8)))
            let recipient = try #require(keygen.stdout.split(separator: " ").last).trimmingCharacters(in: .whitespacesAndNewlines)
            let repo = dir.appendingPathComponent("repo").path
            let key = dir.appendingPathComponent("node.key").path
            _ = try await vault(["init", "--repository", repo, "--recipient", recipient, "--node-key", key])
            let data = dir.appendingPathComponent("data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            try Data("x".utf8).write(to: data.appendingPathComponent("f"))
            _ = try await vault(["backup", "--repository", repo, "--node-key", key, "--data-dir", data.path])
            let wrong = try await vault(
                ["restore", "--repository", repo, "--identity", identity, "--target", dir.path + "/out"],
                environment: ["JAMEY_VAULT_PASSPHRASE": "wrong"])
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("passphrase"))
            let right = try await vault(
                ["restore", "--repository", repo, "--identity", identity, "--target", dir.path + "/out"], environment: env)
            #expect(right.status == 0, "\(right.output)")
        }
    }
}
