import Crypto
import Foundation

/// A vault repository directory: creating it, enrolling nodes, and reading what it holds.
public struct Repository: Sendable {
    /// Where the files live.
    public let layout: RepositoryLayout
    /// The `config` file.
    public let config: RepositoryConfig

    /// Opens the repository at `root`.
    public init(at root: URL) throws {
        layout = RepositoryLayout(root: root)
        guard let data = FileManager.default.contents(atPath: layout.config.path) else {
            throw VaultError(.repository, "\(root.path) is not a vault repository (no config file; run `jamey vault init`)")
        }
        config = try JSONCoding.decode(RepositoryConfig.self, data, what: "repository config \(layout.config.path)")
        guard config.version == 1 else { throw VaultError(.repository, "repository version \(config.version) is not supported") }
    }

    /// Creates a repository at `root` encrypted to `recipients`, and the first node's key.
    /// - Returns: the node key to keep in the node's local state.
    public static func create(at root: URL, recipients: [AgeRecipient], node: String) throws -> NodeKey {
        guard !recipients.isEmpty else { throw VaultError(.badInput, "recipients: at least one age1... recipient is needed") }
        let layout = RepositoryLayout(root: root)
        if FileManager.default.fileExists(atPath: layout.config.path) {
            throw VaultError(.repository, "\(root.path) already holds a repository")
        }
        for directory in [layout.keys, layout.packs, layout.index, layout.snapshots, layout.forgotten, layout.tmp] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        let config = RepositoryConfig(
            version: 1, id: Age.randomBytes(16).hex, recipients: recipients.map(\.description), created: Date())
        let chunkKey = Age.randomBytes(32)
        try layout.writeOnce(try Age.encrypt(chunkKey, to: recipients), to: layout.chunkKey)
        try layout.writeOnce(try JSONCoding.encoder().encode(config), to: layout.config)
        return try Repository(at: root).enroll(node: node, chunkKey: chunkKey)
    }

    /// Adds a node (a new signing key) using the chunk key; the identity opens `keys/chunk-key.age`.
    public func enroll(node: String, identities: [AgeIdentity]) throws -> NodeKey {
        try enroll(
            node: node, chunkKey: chunkKey(identities: identities), recipients: currentRecipients(identities: identities))
    }

    func enroll(node: String, chunkKey: Data, recipients: [String]? = nil) throws -> NodeKey {
        guard !node.isEmpty, node.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw VaultError(.badInput, "node: '\(node)' must be letters, digits, '-', '_' or '.'")
        }
        let signer = Curve25519.Signing.PrivateKey()
        var record = NodePublicKey(node: node, signingKey: signer.publicKey.rawRepresentation, created: Date())
        record.enrollment = record.enrollmentTag(chunkKey: chunkKey, repository: config.id)
        let name = "node-\(node)-\(signer.publicKey.rawRepresentation.sha256Hex.prefix(16))"
        try layout.writeOnce(try JSONCoding.encoder().encode(record), to: layout.keys.appendingPathComponent(name))
        return NodeKey(
            node: node, repository: config.id, recipients: recipients ?? config.recipients, chunkKey: chunkKey,
            signingKey: signer.rawRepresentation)
    }

    /// The chunk key, decrypted with an identity.
    ///
    /// `keys/chunk-key.age` and the rotation records (`keys/epoch-*`) each seal the one chunk key,
    /// and a rotation never changes it. Neither is signed: anyone who can write to the repository
    /// can seal a key of their own to its (public) recipients, and with it enroll a signing key and
    /// sign a snapshot. So every record the identity opens must hold the same key, and with
    /// `expected` (the node key file's, kept off the repository) that key.
    /// - Throws: `badKey` when the identity opens no record; `tampered` when the records disagree
    ///   or none holds `expected`.
    public func chunkKey(identities: [AgeIdentity], expected: Data? = nil) throws -> Data {
        guard let sealed = FileManager.default.contents(atPath: layout.chunkKey.path) else {
            throw VaultError(.repository, "keys/chunk-key.age is missing from the repository")
        }
        var opened: [(record: String, key: Data)] = []
        if let key = try? Age.decrypt(sealed, identities: identities) { opened.append(("keys/chunk-key.age", key)) }
        for (name, epoch) in epochs() {
            if let key = try? Age.decrypt(epoch.chunkKey, identities: identities) { opened.append(("keys/\(name)", key)) }
        }
        if let expected {
            guard opened.isEmpty || opened.contains(where: { $0.key == expected }) else {
                throw VaultError(
                    .tampered,
                    "\(opened[0].record) holds a chunk key that is not this repository's (the node key's): a key record was forged"
                )
            }
            if let other = opened.first(where: { $0.key != expected }) {
                throw VaultError(
                    .tampered, "\(other.record) holds another chunk key than the node key's: a key record was forged")
            }
        }
        guard let first = opened.first else {
            // The identity opens none: let age say why (not a recipient, a bad passphrase...).
            _ = try Age.decrypt(sealed, identities: identities)
            throw VaultError(.badKey, "the identity does not open this repository")
        }
        if let other = opened.first(where: { $0.key != first.key }) {
            throw VaultError(
                .tampered,
                "\(first.record) and \(other.record) hold different chunk keys: one was forged (run verify with the node key to tell which)"
            )
        }
        guard first.key.count == 32 else { throw VaultError(.repository, "\(first.record) does not hold a 32-byte key") }
        return first.key
    }

    /// Every pack file in `packs/` with its size in bytes.
    public func packSizes() -> [String: Int] {
        var sizes: [String: Int] = [:]
        for id in layout.names(in: layout.packs, nested: true) { sizes[id] = Maintenance.size(layout.pack(id)) }
        return sizes
    }

    /// The published node signing keys the repository enrolled (their tag verifies under the chunk
    /// key): node name for each raw public key.
    func trustedKeys(chunkKey: Data) -> [Data: String] {
        var keys: [Data: String] = [:]
        for (_, record) in nodeKeyRecords() where record.isEnrolled(chunkKey: chunkKey, repository: config.id) {
            keys[record.signingKey] = record.node
        }
        return keys
    }

    /// Key files in `keys/` that are not enrolled: unreadable, or without a valid enrollment tag
    /// (added by someone without the chunk key). Nothing they sign is trusted.
    func unenrolledKeys(chunkKey: Data) -> [VaultProblem] {
        var problems: [VaultProblem] = []
        let records = nodeKeyRecords()
        let readable = Set(records.map(\.name))
        for name in layout.names(in: layout.keys) where name.hasPrefix("node-") && !readable.contains(name) {
            problems.append(VaultProblem(.keyForged, subject: name, "keys/\(name) is not a node key record (altered)"))
        }
        for (name, record) in records where !record.isEnrolled(chunkKey: chunkKey, repository: config.id) {
            problems.append(
                VaultProblem(
                    .keyForged, subject: name,
                    "keys/\(name) (node \(record.node)) was not enrolled with the repository's chunk key: someone without it added this key, and nothing it signs is trusted"
                ))
        }
        return problems
    }

    /// Signing keys retired by a rotation: the last seq each may sign (endorsed by the key itself).
    func retiredKeys(trusted: [Data: String]) -> [Data: Int] {
        var retired: [Data: Int] = [:]
        for (_, record) in nodeKeyRecords() where trusted[record.signingKey] == record.node {
            guard let (key, after) = record.retirement, trusted[key] == record.node else { continue }
            retired[key] = min(retired[key] ?? after, after)
        }
        return retired
    }

    private func nodeKeyRecords() -> [(name: String, record: NodePublicKey)] {
        layout.names(in: layout.keys).filter { $0.hasPrefix("node-") }.compactMap { name in
            FileManager.default.contents(atPath: layout.keys.appendingPathComponent(name).path).flatMap {
                (try? JSONCoding.decoder().decode(NodePublicKey.self, from: $0)).map { (name, $0) }
            }
        }
    }
}
