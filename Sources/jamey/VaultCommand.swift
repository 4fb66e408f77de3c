import ArgumentParser
import Foundation
import VaultCore
import VaultSQLite

/// `jamey vault ...`: the vault's offline commands (keys, repository, backup, verify, retention,
/// disaster-recovery restore). They work on files only; the running server is not needed.
struct VaultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault",
        abstract: "Encrypted, verified backups (offline commands; the vault plugin runs them on a schedule).",
        subcommands: [
            Keygen.self, Init.self, Backup.self, Snapshots.self, Verify.self, Forget.self, Prune.self, Restore.self,
            Rotate.self,
        ])
}

/// `--repository`, shared by every vault command.
struct VaultRepositoryOption: ParsableArguments {
    @Option(name: .long, help: "The repository directory (or JAMEY_VAULT_REPOSITORY).")
    var repository: String?

    func open() throws -> Repository {
        try Repository(at: url())
    }

    func url() throws -> URL {
        guard let path = repository ?? ProcessInfo.processInfo.environment["JAMEY_VAULT_REPOSITORY"] else {
            throw VaultError(.badInput, "--repository: no repository given (or set JAMEY_VAULT_REPOSITORY)")
        }
        return URL(fileURLWithPath: path)
    }
}

/// `--node-key`: the node's key file (recipients, chunk key, signing key; never the identity).
struct VaultNodeKeyOption: ParsableArguments {
    @Option(name: .long, help: "The node key file written by `jamey vault init` (or JAMEY_VAULT_NODE_KEY).")
    var nodeKey: String?

    func url() throws -> URL {
        guard let path = nodeKey ?? ProcessInfo.processInfo.environment["JAMEY_VAULT_NODE_KEY"] else {
            throw VaultError(.badInput, "--node-key: no node key file given (or set JAMEY_VAULT_NODE_KEY)")
        }
        return URL(fileURLWithPath: path)
    }

    func read() throws -> NodeKey { try NodeKey.read(url()) }

    /// The key that signs or encrypts, after settling an interrupted rotation
    /// (``NodeKey/read(_:settlingRotationIn:)``).
    func read(settlingRotationIn repository: Repository) throws -> NodeKey {
        try NodeKey.read(url(), settlingRotationIn: repository)
    }

    /// The repository's chunk key from the node key file, or else from the identity: listing
    /// snapshots checks each one's signer against the keys the repository enrolled with it.
    func chunkKey(_ repository: Repository, or identity: VaultIdentityOption) throws -> Data {
        if nodeKey != nil || ProcessInfo.processInfo.environment["JAMEY_VAULT_NODE_KEY"] != nil || identity.identity == nil {
            do {
                return try read().chunkKey
            } catch let error as VaultError where error.code == .badInput {
                throw VaultError(
                    .badInput,
                    "--node-key or --identity: checking who signed each snapshot needs the node key file or the identity")
            }
        }
        return try repository.chunkKey(identities: try identity.read() ?? [])
    }
}

/// `--identity`: an age identity file, plain or passphrase-protected.
struct VaultIdentityOption: ParsableArguments {
    @Option(name: .long, help: "The age identity file (AGE-SECRET-KEY-1...), plain or passphrase-protected.")
    var identity: String?

    func read(required: Bool = true) throws -> [AgeIdentity]? {
        guard let identity else {
            if required { throw VaultError(.badInput, "--identity: this command needs the identity file") }
            return nil
        }
        return try VaultIdentityFile.read(URL(fileURLWithPath: identity))
    }
}

enum VaultIdentityFile {
    /// Reads an identity file; a passphrase-protected one (an age file) is opened with
    /// JAMEY_VAULT_PASSPHRASE or a prompt.
    static func read(_ url: URL) throws -> [AgeIdentity] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw VaultError(.notFound, "--identity: \(url.path) does not exist")
        }
        if data.starts(with: Data("age-encryption.org/v1\n".utf8)) {
            let passphrase = try passphrase(prompt: "Passphrase for \(url.lastPathComponent): ")
            return try AgeIdentity.parseFile(String(decoding: try Age.decrypt(data, passphrase: passphrase), as: UTF8.self))
        }
        return try AgeIdentity.parseFile(String(decoding: data, as: UTF8.self))
    }

    static func passphrase(prompt: String) throws -> String {
        if let value = ProcessInfo.processInfo.environment["JAMEY_VAULT_PASSPHRASE"] { return value }
        guard let entered = getpass(prompt) else { throw VaultError(.badInput, "passphrase: none entered") }
        return String(cString: entered)
    }
}

/// Runs a vault command body: a `VaultError` or `VaultProblem` becomes one line on stderr and exit status 1.
func vaultRun(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as VaultError {
        printError("vault: \(error.message)")
        throw ExitCode(1)
    } catch let problem as VaultProblem {
        printError("vault: \(problem.message)")
        throw ExitCode(1)
    }
}

/// Prints a value as JSON (sorted keys, ISO 8601 dates).
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

extension Repository {
    /// Retention and prune with the node key of `option` (forget records are signed with it).
    func maintenance(_ option: VaultNodeKeyOption) throws -> Maintenance {
        Maintenance(repository: self, key: try option.read(settlingRotationIn: self))
    }
}
