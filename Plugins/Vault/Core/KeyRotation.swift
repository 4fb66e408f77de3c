import Crypto
import Foundation

/// A recipient rotation, written once to `keys/epoch-<sha256>` by `jamey vault rotate`: the new
/// recipients, the chunk key sealed to them, and the retired identities sealed to them, so the new
/// identity alone reads everything written before (packs not re-encrypted, manifest bodies).
struct KeyEpoch: Codable {
    /// When the rotation happened.
    var created: Date
    /// The recipients new data is encrypted to from now on.
    var recipients: [String]
    /// The recipients they replace.
    var replaces: [String]
    /// The repository's chunk key, age-encrypted to `recipients`.
    var chunkKey: Data
    /// The retired identity file's text, age-encrypted to `recipients`.
    var retired: Data
}

/// What `jamey vault rotate` did.
public struct RotationResult: Codable, Sendable {
    /// The recipients the node now encrypts to.
    public var recipients: [String]
    /// The epoch record written (needs the old identity), nil when only this node's key changed.
    public var epoch: String?
    /// Packs re-encrypted to the new recipients (old files removed after the new ones were written).
    public var packsReencrypted = 0
    /// Encrypted bytes written while re-encrypting.
    public var bytesRewritten = 0
    /// The node's new signing key (hex of the Ed25519 public key).
    public var signingKey: String
    /// The old signing key signs nothing after this sequence number of the node's chain.
    public var retiredAfterSeq: Int
}

extension Repository {
    /// The rotation records, oldest first.
    func epochs() -> [(name: String, epoch: KeyEpoch)] {
        layout.names(in: layout.keys).filter { $0.hasPrefix("epoch-") }.compactMap { name in
            guard let data = FileManager.default.contents(atPath: layout.keys.appendingPathComponent(name).path),
                let epoch = try? JSONCoding.decoder().decode(KeyEpoch.self, from: data)
            else { return nil }
            return (name, epoch)
        }.sorted { $0.epoch.created < $1.epoch.created }
    }

    /// `identities` plus every retired identity they can reach through the rotation records (the
    /// identity of rotation n opens the identities retired by rotation n, which open n - 1's, ...).
    public func expandIdentities(_ identities: [AgeIdentity]) -> [AgeIdentity] {
        var all = identities
        var opened = Set<String>()
        var progress = true
        let records = epochs()
        while progress {
            progress = false
            for (name, epoch) in records where !opened.contains(name) {
                guard let text = try? Age.decrypt(epoch.retired, identities: all),
                    let retired = try? AgeIdentity.parseFile(String(decoding: text, as: UTF8.self))
                else { continue }
                opened.insert(name)
                let known = Set(all.map(\.description))
                all += retired.filter { !known.contains($0.description) }
                progress = true
            }
        }
        return all
    }

    /// The recipients of the newest rotation `identities` open (the config's when there is none).
    func currentRecipients(identities: [AgeIdentity]) -> [String] {
        epochs().last { (try? Age.decrypt($0.epoch.chunkKey, identities: identities)) != nil }?.epoch.recipients
            ?? config.recipients
    }
}

/// Rotates keys: this node's recipients and signing key always; with the old identity also the
/// repository's (an epoch record) and, optionally, every pack re-encrypted to the new recipients.
public struct KeyRotation {
    let repository: Repository
    let key: NodeKey

    public init(repository: Repository, key: NodeKey) {
        self.repository = repository
        self.key = key
    }

    /// Rotates to `recipients`.
    /// - Parameters:
    ///   - recipients: the new recipients (at least one).
    ///   - identities: the retiring identity; without it only this node's key changes (other nodes
    ///     after the first node rotated the repository).
    ///   - reencrypt: also re-encrypt every pack to the new recipients (needs `identities`).
    ///   - pending: where the new key is written before the repository learns its signing key
    ///     (``NodeKey/pendingURL(for:)`` of the key file; ``NodeKey/read(_:settlingRotationIn:)``
    ///     finishes a rotation killed before the caller wrote the key file).
    /// - Returns: the node's new key (to write over the old key file, then remove `pending`) and
    ///   what was done.
    public func rotate(to recipients: [AgeRecipient], identities: [AgeIdentity]?, reencrypt: Bool, pending: URL? = nil)
        throws -> (
            key: NodeKey, result: RotationResult
        )
    {
        guard !recipients.isEmpty else { throw VaultError(.badInput, "recipient: at least one age1... recipient is needed") }
        guard key.repository == repository.config.id else {
            throw VaultError(.badKey, "node key is for repository \(key.repository), not \(repository.config.id)")
        }
        if reencrypt && identities == nil {
            throw VaultError(.badInput, "--reencrypt: re-encrypting packs needs the old identity (--identity)")
        }
        let layout = repository.layout
        let lock = try RepositoryLock.acquire(layout, kind: "rotate", node: key.node)
        defer { lock.release() }
        let names = recipients.map(\.description)
        var result = RotationResult(recipients: names, signingKey: "", retiredAfterSeq: 0)
        if let identities {
            let reader = try RepositoryReader(repository: repository, identities: identities, chunkKey: key.chunkKey)
            let chunkKey = try repository.chunkKey(identities: reader.identities, expected: key.chunkKey)
            let retired = reader.identities.map { $0.fileText() }.joined()
            let epoch = KeyEpoch(
                created: Date(), recipients: names, replaces: key.recipients,
                chunkKey: try Age.encrypt(chunkKey, to: recipients), retired: try Age.encrypt(Data(retired.utf8), to: recipients))
            let data = try JSONCoding.encoder().encode(epoch)
            let name = "epoch-\(data.sha256Hex)"
            try layout.writeOnce(data, to: layout.keys.appendingPathComponent(name))
            result.epoch = name
            if reencrypt { try reencryptPacks(reader, to: recipients, &result) }
        }
        // A new signing key, endorsed by the old one, which signs nothing after the node's latest seq.
        let old = try key.signer()
        let signer = Curve25519.Signing.PrivateKey()
        let seq = SnapshotCatalog(repository: repository, chunkKey: key.chunkKey).latest(node: key.node)?.seq ?? 0
        var record = NodePublicKey(node: key.node, signingKey: signer.publicKey.rawRepresentation, created: Date())
        record.previousKey = old.publicKey.rawRepresentation
        record.previousRetiredAfter = seq
        record.endorsement = try old.signature(for: record.endorsedContent)
        record.enrollment = record.enrollmentTag(chunkKey: key.chunkKey, repository: repository.config.id)
        let name = "node-\(key.node)-\(signer.publicKey.rawRepresentation.sha256Hex.prefix(16))"
        var next = key
        next.recipients = names
        next.signingKey = signer.rawRepresentation
        // The new key lasts before the repository retires the old one.
        try pending.map { try next.write($0) }
        try layout.writeOnce(try JSONCoding.encoder().encode(record), to: layout.keys.appendingPathComponent(name))
        result.signingKey = signer.publicKey.rawRepresentation.hex
        result.retiredAfterSeq = seq
        return (next, result)
    }

    /// Every pack decrypted and encrypted again to `recipients`: the new pack and its index are
    /// written before the old index and pack go, so an interruption leaves every chunk readable.
    private func reencryptPacks(_ reader: RepositoryReader, to recipients: [AgeRecipient], _ result: inout RotationResult)
        throws
    {
        let layout = repository.layout
        for pack in reader.index.packs.keys.sorted() {
            guard let indexData = FileManager.default.contents(atPath: layout.index(pack).path) else { continue }
            let entries = try PackIndexFile(indexData, pack: pack, hasher: reader.hasher).entries
            let (sealed, id) = try Age.encryptNamed(try reader.pack(pack), to: recipients)
            try layout.writeOnce(sealed, to: layout.pack(id))
            try layout.writeOnce(PackIndexFile(entries: entries).encoded(hasher: reader.hasher), to: layout.index(id))
            try? FileManager.default.removeItem(at: layout.index(pack))
            try? FileManager.default.removeItem(at: layout.pack(pack))
            result.packsReencrypted += 1
            result.bytesRewritten += sealed.count
        }
    }
}
