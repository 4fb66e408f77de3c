import Crypto
import Foundation

/// A snapshot manifest's signed, plaintext part. File names and chunk lists are in `body`,
/// encrypted to the recipients; `references` (the first 16 bytes of each keyed chunk id) lets a
/// node without the identity prune. Both are binary sections of the manifest file, not JSON.
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
    /// The signer's Ed25519 public key.
    public var signingKey: Data
    /// Sorted unique prefixes (16 bytes) of the chunk ids the snapshot needs.
    public var references = Data()
    /// The age-encrypted body (see ``SnapshotBody/encoded()``).
    public var body = Data()

    enum CodingKeys: String, CodingKey {
        case version, repository, node, seq, previous, time, sources, tags, fileCount, totalBytes, bytesAdded
        case chunksNew, chunksDeduplicated, signingKey
    }
}

/// The encrypted part of a manifest: every file with its chunk list. Encoded as the files' JSON
/// (without chunk lists) then every file's chunk ids, 32 bytes each, in file order.
public struct SnapshotBody: Codable, Sendable {
    /// The files, directories and links, in order.
    public var files: [FileEntry]

    func encoded() throws -> Data {
        var files = self.files
        var ids = Data()
        for index in files.indices {
            let chunks = files[index].chunks ?? Data()
            files[index].chunkCount = chunks.count / 32
            ids.append(chunks)
        }
        let json = try JSONCoding.encoder().encode(SnapshotBody(files: files))
        var out = Data()
        appendUInt32(&out, json.count)
        return out + json + ids
    }

    static func decode(_ data: Data, what: String) throws -> SnapshotBody {
        let bad = VaultError(.badInput, "\(what) is malformed")
        guard data.count >= 4 else { throw bad }
        let length = readUInt32(data, at: 0)
        guard data.count >= 4 + length else { throw bad }
        var body = try JSONCoding.decode(
            SnapshotBody.self, data.subdata(in: data.startIndex + 4..<data.startIndex + 4 + length), what: what)
        var offset = data.startIndex + 4 + length
        for index in body.files.indices {
            let count = body.files[index].chunkCount ?? 0
            guard count >= 0, count <= (data.endIndex - offset) / 32 else { throw bad }
            body.files[index].chunks = data.subdata(in: offset..<offset + count * 32)
            offset += count * 32
        }
        return body
    }
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
    /// SHA-256 of the whole content (hex), in snapshots written before the signed chunk list
    /// alone fixed a file's content; nil since (verify checks a file against `chunks`).
    public var sha256: String?
    /// How the file was chunked.
    public var chunking: ChunkingKind?
    /// The chunk ids in file order (32 bytes each); stored after the body's JSON.
    public var chunks: Data?
    /// How many chunk ids `chunks` holds (in the JSON).
    public var chunkCount: Int?
    /// A symlink's target.
    public var target: String?

    enum CodingKeys: String, CodingKey {
        case source, path, type, size, mode, mtime, sha256, chunking, chunkCount, target
    }
}

/// A manifest file: `JVSNAP1\n`, then three length-prefixed sections (the header JSON, the
/// references, the encrypted body), then `signature <base64>` on its own line over all before it.
public struct SnapshotManifest: Sendable {
    /// The snapshot id: hex SHA-256 of the file.
    public let id: String
    /// The signed header.
    public let header: SnapshotHeader

    static let separator = Data("\nsignature ".utf8)
    static let magic = Data("JVSNAP1\n".utf8)

    /// A signed file's content and signature: everything before the last `\nsignature `, and the
    /// base64 after it.
    static func splitSigned(_ data: Data) -> (content: Data, signature: Data)? {
        guard let split = data.lastRange(of: separator) else { return nil }
        let text = String(decoding: data[split.upperBound...], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let signature = Data(base64Encoded: text) else { return nil }
        return (data.subdata(in: data.startIndex..<split.lowerBound), signature)
    }

    static func encode(_ header: SnapshotHeader, signer: Curve25519.Signing.PrivateKey) throws -> Data {
        var content = magic
        for section in [try JSONCoding.encoder().encode(header), header.references, header.body] {
            appendUInt32(&content, section.count)
            content.append(section)
        }
        let signature = try signer.signature(for: content)
        return content + separator + Data(signature.base64EncodedString().utf8) + Data("\n".utf8)
    }

    /// Parses a manifest and checks its name and signature against the trusted keys.
    static func parse(_ data: Data, name: String, trusted: [Data: String]) throws -> SnapshotManifest {
        let short = name.prefix(12)
        guard data.sha256Hex == name else {
            throw VaultProblem(.signatureInvalid, subject: name, "snapshot \(short): content does not match its name (altered)")
        }
        guard let (content, signature) = splitSigned(data) else {
            throw VaultProblem(.signatureInvalid, subject: name, "snapshot \(short): no signature line")
        }
        let malformed = VaultProblem(.signatureInvalid, subject: name, "snapshot \(short): malformed (altered)")
        guard content.starts(with: magic) else { throw malformed }
        var sections: [Data] = []
        var offset = magic.count
        while sections.count < 3 {
            guard offset + 4 <= content.count else { throw malformed }
            let length = readUInt32(content, at: offset)
            guard offset + 4 + length <= content.count else { throw malformed }
            sections.append(content.subdata(in: offset + 4..<offset + 4 + length))
            offset += 4 + length
        }
        guard offset == content.count, var header = try? JSONCoding.decoder().decode(SnapshotHeader.self, from: sections[0])
        else {
            throw malformed
        }
        guard let signer = trusted[header.signingKey] else {
            throw VaultProblem(
                .signatureInvalid, subject: name,
                "snapshot \(short): signed by a key the repository did not enroll (not in keys/, or added without the chunk key)")
        }
        guard signer == header.node,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: header.signingKey),
            key.isValidSignature(signature, for: content)
        else { throw VaultProblem(.signatureInvalid, subject: name, "snapshot \(short): signature does not verify (altered)") }
        header.references = sections[1]
        header.body = sections[2]
        return SnapshotManifest(id: name, header: header)
    }

    /// The chunk-id prefixes the snapshot needs.
    public var references: Set<ChunkPrefix> {
        Set(stride(from: 0, to: header.references.count - 15, by: 16).map { ChunkPrefix(header.references, at: $0) })
    }

    /// Decrypts the body with an identity.
    public func body(in repository: Repository, identities: [AgeIdentity]) throws -> SnapshotBody {
        let plain = try Age.decrypt(header.body, identities: identities)
        return try SnapshotBody.decode(plain, what: "snapshot \(id.prefix(12)) body")
    }
}

extension VaultProblem: Error {}
