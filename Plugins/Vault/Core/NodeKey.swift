import Crypto
import Foundation

/// What a node needs to write backups: the recipients, the chunk key (for addresses and boundaries)
/// and its own Ed25519 signing key. It holds no identity: a node with only this cannot read its backups.
public struct NodeKey: Codable, Sendable {
    /// The node's name, unique within the repository.
    public var node: String
    /// The repository this key belongs to.
    public var repository: String
    /// Recipients packs and manifest bodies are encrypted to.
    public var recipients: [String]
    /// The repository's chunk key (32 bytes): keyed chunk addresses and chunk boundaries.
    public var chunkKey: Data
    /// The node's Ed25519 private key (raw 32 bytes) that signs its manifests.
    public var signingKey: Data

    /// Reads a node key file.
    public static func read(_ url: URL) throws -> NodeKey {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw VaultError(.notFound, "node key file \(url.path) does not exist (run `jamey vault init` first)")
        }
        return try JSONCoding.decode(NodeKey.self, data, what: "node key file \(url.path)")
    }

    /// Where a rotation keeps the node's next key until it is the key file's: written before the
    /// repository learns the new signing key, renamed over the key file after.
    public static func pendingURL(for url: URL) -> URL { URL(fileURLWithPath: url.path + ".next") }

    /// Reads a node key file, first settling a rotation that was interrupted (`kill -9`, a full
    /// disk) between publishing the new signing key and writing the key file: a next key whose
    /// signing key the repository enrolled becomes the key file (the old key was retired; a
    /// snapshot it signed from then on was `signature-invalid`, and the next backup refused as a
    /// rollback); one the repository never learned is dropped. Use it wherever the key signs
    /// or encrypts (backup, forget, prune, rotate).
    public static func read(_ url: URL, settlingRotationIn repository: Repository) throws -> NodeKey {
        let pending = pendingURL(for: url)
        if let data = FileManager.default.contents(atPath: pending.path) {
            let current = try read(url)
            let next = try JSONCoding.decode(NodeKey.self, data, what: "node key file \(pending.path)")
            let signer = try next.signer()
            let enrolled = repository.trustedKeys(chunkKey: next.chunkKey)[signer.publicKey.rawRepresentation] == next.node
            if enrolled && next.node == current.node && next.repository == current.repository { try next.write(url) }
            try FileManager.default.removeItem(at: pending)
        }
        return try read(url)
    }

    /// Writes the key file readable by its owner only.
    public func write(_ url: URL) throws {
        // Whole or not at all (a rotation replaces it), and lasting before anything relies on it.
        try DurableFile.replace(url, with: try JSONCoding.encoder().encode(self), mode: 0o600)
    }

    func signer() throws -> Curve25519.Signing.PrivateKey {
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: signingKey)
        } catch {
            throw VaultError(.badKey, "node key file: signingKey is not an Ed25519 key")
        }
    }

    func parsedRecipients() throws -> [AgeRecipient] { try recipients.map { try AgeRecipient($0) } }
}

/// The last snapshot a node wrote, kept in its local state: a repository that no longer holds it
/// (or holds an older head) has been rolled back.
public struct ChainHead: Codable, Sendable, Equatable {
    /// The node's sequence number of that snapshot.
    public var seq: Int
    /// The snapshot id.
    public var snapshot: String

    /// The head file beside a node key file.
    public static func url(forKey keyURL: URL) -> URL { keyURL.appendingPathExtension("head") }

    /// Reads the head, nil when the node has written nothing yet.
    public static func read(_ url: URL) throws -> ChainHead? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try JSONCoding.decode(ChainHead.self, data, what: "chain head \(url.path)")
    }

    func write(_ url: URL) throws {
        try DurableFile.replace(url, with: try JSONCoding.encoder().encode(self), mode: 0o644)
    }
}

/// A node's public signing key as published in the repository's `keys/`.
struct NodePublicKey: Codable {
    var node: String
    var signingKey: Data
    var created: Date
    /// After a rotation: the key this one replaces, which signs nothing after `previousRetiredAfter`.
    var previousKey: Data?
    /// The node's last sequence number signed with `previousKey`.
    var previousRetiredAfter: Int?
    /// `previousKey`'s signature over ``endorsedContent``.
    var endorsement: Data?
    /// The repository's enrollment of this key: an HMAC keyed from the chunk key (see
    /// ``enrollmentTag(chunkKey:repository:)``). Only a holder of the chunk key (a node, or the
    /// operator with the identity) can make one, so a key that someone with write access to the
    /// repository alone adds to `keys/` is not trusted, and neither is anything it signs.
    var enrollment: Data?

    init(node: String, signingKey: Data, created: Date) {
        self.node = node
        self.signingKey = signingKey
        self.created = created
    }

    /// What the old key signs: node, new key, and the last seq the old key signed.
    var endorsedContent: Data {
        Data("jamey-vault rotate\n\(node)\n\(signingKey.hex)\n\(previousRetiredAfter ?? 0)\n".utf8)
    }

    /// The enrollment tag of this record in repository `repository` under `chunkKey`.
    func enrollmentTag(chunkKey: Data, repository: String) -> Data {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: chunkKey), info: Data("jamey-vault key enrollment".utf8),
            outputByteCount: 32)
        let content = Data("jamey-vault enroll\n\(repository)\n\(node)\n\(signingKey.hex)\n".utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: content, using: key))
    }

    /// Whether the record carries a valid enrollment tag.
    func isEnrolled(chunkKey: Data, repository: String) -> Bool {
        guard let enrollment else { return false }
        let expected = enrollmentTag(chunkKey: chunkKey, repository: repository)
        // Constant time: compare every byte.
        guard enrollment.count == expected.count else { return false }
        return zip(enrollment, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The retirement this record proves: the old key and its last seq, when the endorsement verifies.
    var retirement: (key: Data, after: Int)? {
        guard let previousKey, let previousRetiredAfter, let endorsement,
            let old = try? Curve25519.Signing.PublicKey(rawRepresentation: previousKey),
            old.isValidSignature(endorsement, for: endorsedContent)
        else { return nil }
        return (previousKey, previousRetiredAfter)
    }
}
