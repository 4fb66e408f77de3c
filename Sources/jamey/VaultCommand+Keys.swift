import ArgumentParser
import Foundation
import VaultCore

extension VaultCommand {
    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an age identity (the restore key): keep it off the machine; give nodes only its public key.")

        @Option(name: .shortAndLong, help: "Write the identity here (mode 0600); it must not exist.") var output: String
        @Flag(help: "Protect the identity file with a passphrase (JAMEY_VAULT_PASSPHRASE or a prompt).")
        var passphrase = false

        func run() throws {
            try vaultRun {
                let url = URL(fileURLWithPath: output)
                guard !FileManager.default.fileExists(atPath: url.path) else {
                    throw VaultError(.badInput, "--output: \(output) already exists; refusing to overwrite a key")
                }
                let identity = AgeIdentity.generate()
                var contents = Data(identity.fileText().utf8)
                if passphrase {
                    let first = try VaultIdentityFile.passphrase(prompt: "New passphrase: ")
                    guard !first.isEmpty else { throw VaultError(.badInput, "passphrase: empty") }
                    // Typed at a prompt: asked twice, since a typo would lock the only restore
                    // identity away (every backup is encrypted to its public key).
                    if ProcessInfo.processInfo.environment["JAMEY_VAULT_PASSPHRASE"] == nil {
                        let again = try VaultIdentityFile.passphrase(prompt: "The same passphrase again: ")
                        guard again == first else {
                            throw VaultError(.badInput, "passphrase: the two entries differ; nothing was written")
                        }
                    }
                    contents = try Age.encrypt(contents, passphrase: first)
                }
                guard FileManager.default.createFile(atPath: url.path, contents: contents, attributes: [.posixPermissions: 0o600])
                else { throw VaultError(.io, "--output: cannot write \(output)") }
                print("Public key: \(identity.recipient)")
            }
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Create a repository encrypted to the recipients and this node's key; or, with --identity, enroll another node into an existing one."
        )

        @OptionGroup var repository: VaultRepositoryOption
        @OptionGroup var nodeKey: VaultNodeKeyOption
        @OptionGroup var identity: VaultIdentityOption
        @Option(name: .long, help: "An age recipient (age1...) backups are encrypted to; repeat for several.")
        var recipient: [String] = []
        @Option(name: .long, help: "This node's name, unique in the repository.") var node: String = ProcessInfo.processInfo
            .hostName

        func run() throws {
            try vaultRun {
                let keyURL = try nodeKey.url()
                guard !FileManager.default.fileExists(atPath: keyURL.path) else {
                    throw VaultError(.badInput, "--node-key: \(keyURL.path) already exists; refusing to overwrite it")
                }
                let root = try repository.url()
                let key: NodeKey
                if FileManager.default.fileExists(atPath: root.appendingPathComponent("config").path) {
                    guard let identities = try identity.read(required: false) else {
                        throw VaultError(
                            .badInput, "--identity: \(root.path) already holds a repository; enrolling a node needs the identity")
                    }
                    key = try Repository(at: root).enroll(node: node, identities: identities)
                    print("Enrolled node \(node) in \(root.path)")
                } else {
                    guard !recipient.isEmpty else {
                        throw VaultError(.badInput, "--recipient: at least one age1... recipient is needed")
                    }
                    key = try Repository.create(at: root, recipients: try recipient.map { try AgeRecipient($0) }, node: node)
                    print("Created repository \(root.path) for node \(node)")
                }
                try key.write(keyURL)
                print("Node key: \(keyURL.path) (holds no identity: this node can write backups, not read them)")
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate keys: new recipients for new data, a new node signing key, old identity retired.",
            discussion: """
                With --identity (the identity being retired), the repository rotates: the chunk key and the \
                retired identity are sealed to the new recipients (keys/epoch-...), so the new identity alone \
                reads every snapshot; --reencrypt also re-encrypts every pack to the new recipients. Always, \
                this node's key file gets the new recipients and a new signing key, endorsed by the old one, \
                which signs nothing after this node's latest snapshot. Other nodes run rotate without \
                --identity, with the same --recipient.
                """)

        @OptionGroup var repository: VaultRepositoryOption
        @OptionGroup var nodeKey: VaultNodeKeyOption
        @OptionGroup var identity: VaultIdentityOption
        @Option(name: .long, help: "A new age recipient (age1...); repeat for several.") var recipient: [String] = []
        @Flag(help: "Re-encrypt every pack to the new recipients (needs --identity).") var reencrypt = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try vaultRun {
                guard !recipient.isEmpty else {
                    throw VaultError(.badInput, "--recipient: at least one age1... recipient is needed")
                }
                let recipients = try recipient.map { try AgeRecipient($0) }
                let keyURL = try nodeKey.url()
                let repo = try repository.open()
                let rotation = KeyRotation(repository: repo, key: try NodeKey.read(keyURL, settlingRotationIn: repo))
                let pending = NodeKey.pendingURL(for: keyURL)
                let (key, result) = try rotation.rotate(
                    to: recipients, identities: try identity.read(required: false), reencrypt: reencrypt, pending: pending)
                try key.write(keyURL)
                // A server's backup may have settled the rotation meanwhile and removed it.
                try? FileManager.default.removeItem(at: pending)
                if json { return try printJSON(result) }
                print("Node key \(keyURL.path): now encrypts to \(result.recipients.joined(separator: ", "))")
                print("Signing key rotated; the old key signs nothing after snapshot #\(result.retiredAfterSeq)")
                if let epoch = result.epoch {
                    print("Repository rotated (keys/\(epoch)): the new identity reads everything; the old one is retired")
                }
                if reencrypt { print("Re-encrypted \(result.packsReencrypted) packs (\(result.bytesRewritten) bytes)") }
            }
        }
    }
}
