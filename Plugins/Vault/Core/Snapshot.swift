import Crypto
import Foundation

/// A snapshot manifest's signed, plaintext part. File names and chunk lists are in `body`,
/// encrypted to the recipients; `references` (keyed chunk ids) lets a node without the identity prune.
public struct SnapshotHeader: Codable, Sendable {
    /// Format version (1).
    public var version = 1
    /// The repository id.
    public var repository: String
    /// The node that wrote it.
    public var node: String
    /// The node's sequence number: 1, 2, 3, ... (a gap means a snapshot was deleted).
    public var seq: Int
    /// The id of the node's previous snapshot (hash chain), nil for the first.
    public var previous: String?
    /// When the snapshot was taken.
    public var time: Date
    /// The source names backed up (plugin names, or `data`).
    public var sources: [String]
    /// Tags for grouping.
    public var tags: [String] = []
    /// Files in the snapshot.
    public var fileCount: Int
    /// Bytes of all files.
    public var totalBytes: Int
    /// Plaintext bytes of chunks this snapshot added to the repository.
    public var bytesAdded: Int
    /// Chunks this snapshot added.
    public var chunksNew: Int
    /// Chunks already in the repository (deduplicated).
    public var chunksDeduplicated: Int
    /// Sorted unique chunk ids the snapshot needs (32 bytes each).
    public var references: Data
    /// The age-encrypted `SnapshotBody` JSON.
    public var body: Data
    /// The signer's Ed25519 public key.
    public var signingKey: Data
}

/// The encrypted part of a manifest: every file with its chunk list.
public struct SnapshotBody: Codable, Sendable {
    /// The files, directories and links, in order.
    public var files: [FileEntry]
}

/// One entry of a snapshot.
public struct FileEntry: Codable, Sendable, Equatable {
    /// The source (plugin name or `data`) it belongs to.
    public var source: String
    /// The path relative to the source's root; empty for the root itself.
    public var path: String
    /// `file`, `dir` or `symlink`.
    public var type: String
    /// Size in bytes.
    public var size: Int
    /// POSIX permission bits.
    public var mode: Int
    /// Modification time, seconds since 1970.
    public var mtime: Double
    /// SHA-256 of the whole content (hex), for files.
    public var sha256: String?
    /// How the file was chunked.
    public var chunking: ChunkingKind?
    /// The chunk ids in file order (32 bytes each).
    public var chunks: Data?
    /// A symlink's target.
    public var target: String?
}

/// A manifest file: the header JSON, then `signature <base64>` on its own line.
public struct SnapshotManifest: Sendable {
    /// The snapshot id: hex SHA-256 of the file.
    public let id: String
    /// The signed header.
    public let header: SnapshotHeader

    static let separator = Data("\nsignature ".utf8)

    static func encode(_ header: SnapshotHeader, signer: Curve25519.Signing.PrivateKey) throws -> Data {
        let content = try JSONCoding.encoder().encode(header)
        let signature = try signer.signature(for: content)
        return content + separator + Data(signature.base64EncodedString().utf8) + Data("\n".utf8)
    }

    /// Parses a manifest and checks its name and signature against the trusted keys.
    static func parse(_ data: Data, name: String, trusted: [Data: String]) throws -> SnapshotManifest {
        let short = name.prefix(12)
        guard data.sha256Hex == name else {
            throw VaultProblem(.signatureInvalid, subject: name, "snapshot \(short): content does not match its name (altered)")
        }
        guard let split = data.lastRange(of: separator),
            let signature = Data(
                base64Encoded: String(decoding: data[split.upperBound...], as: UTF8.self).trimmingCharacters(
                    in: .whitespacesAndNewlines))
        else { throw VaultProblem(.signatureInvalid, subject: name, "snapshot \(short): no signature line") }
        let content = data[data.startIndex..<split.lowerBound]
        guard let header = try? JSONCoding.decoder().decode(SnapshotHeader.self, from: content) else {
            throw VaultProblem(.signatureInvalid, subject: name, "snapshot \(short): header is not valid JSON (altered)")
        }
        guard let signer = trusted[header.signingKey] else {
            throw VaultProblem(.signatureInvalid, subject: name, "snapshot \(short): signed by a key not in keys/")
        }
        guard signer == header.node,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: header.signingKey),
            key.isValidSignature(signature, for: content)
        else { throw VaultProblem(.signatureInvalid, subject: name, "snapshot \(short): signature does not verify (altered)") }
        return SnapshotManifest(id: name, header: header)
    }

    /// Decrypts the body with an identity.
    public func body(in repository: Repository, identities: [AgeIdentity]) throws -> SnapshotBody {
        let plain = try Age.decrypt(header.body, identities: identities)
        return try JSONCoding.decode(SnapshotBody.self, plain, what: "snapshot \(id.prefix(12)) body")
    }
}

extension VaultProblem: Error {}
