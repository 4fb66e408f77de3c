import Crypto
import Foundation

/// A directory (or one file) to back up under a name: a plugin's snapshot directory, or `data`.
public struct BackupSource: Sendable {
    /// The name restore uses (plugin name or `data`).
    public var name: String
    /// The directory or file.
    public var url: URL
    /// Paths under `url` to leave out (e.g. a repository inside the data directory).
    public var exclude: [URL]

    public init(name: String, url: URL, exclude: [URL] = []) {
        self.name = name
        self.url = url
        self.exclude = exclude
    }
}

/// What one backup stored.
public struct BackupResult: Codable, Sendable {
    /// The new snapshot's id.
    public var snapshot: String
    /// Its sequence number for the node.
    public var seq: Int
    /// Files backed up.
    public var fileCount: Int
    /// Bytes of all files.
    public var totalBytes: Int
    /// Plaintext bytes of new chunks.
    public var bytesAdded: Int
    /// Bytes of encrypted packs written (what the repository grew by, plus the manifest).
    public var packBytesWritten: Int
    /// Bytes of the manifest.
    public var manifestBytes: Int
    /// New chunks stored.
    public var chunksNew: Int
    /// Chunks found already stored.
    public var chunksDeduplicated: Int
    /// Packs written.
    public var packs: Int
    /// Seconds taken.
    public var seconds: Double
}

/// Backs up sources into a repository with a node key: chunks, deduplicates, packs, encrypts,
/// signs the manifest and chains it to the node's previous snapshot.
public struct BackupWriter {
    let repository: Repository
    let key: NodeKey
    let headURL: URL?
    /// Pack size target (plaintext bytes).
    public var packSize = 16 << 20
    /// SQLite pages per chunk.
    public var pagesPerChunk = 1

    /// - Parameters:
    ///   - repository: the repository to write to.
    ///   - key: this node's key.
    ///   - headURL: where the node keeps its chain head (nil: take it from the repository).
    public init(repository: Repository, key: NodeKey, headURL: URL?) throws {
        guard key.repository == repository.config.id else {
            throw VaultError(.badKey, "node key is for repository \(key.repository), not \(repository.config.id)")
        }
        self.repository = repository
        self.key = key
        self.headURL = headURL
    }

    /// Backs up `sources` and writes a snapshot.
    public func run(sources: [BackupSource], time: Date = Date(), tags: [String] = []) throws -> BackupResult {
        let started = Date()
        let layout = repository.layout
        let lock = try RepositoryLock.acquire(layout, kind: "backup", node: key.node)
        defer { lock.release() }
        let catalog = SnapshotCatalog(repository: repository)
        var previous = catalog.latest(node: key.node)
        if let headURL, let head = try ChainHead.read(headURL) {
            if head.seq > (previous?.seq ?? 0) {
                throw VaultError(
                    .tampered,
                    "repository rolled back: this node wrote snapshot #\(head.seq), the repository's latest for it is #\(previous?.seq ?? 0); run verify"
                )
            }
            previous = previous ?? (head.seq, head.snapshot)
        }
        let hasher = ChunkHasher(key: key.chunkKey)
        let chunker = Chunker(seed: key.chunkKey, pagesPerChunk: pagesPerChunk)
        var known = Set(ChunkIndex(repository: repository, hasher: hasher).locations.keys)
        var writer = PackWriter(layout: layout, recipients: try key.parsedRecipients(), hasher: hasher, targetSize: packSize)
        var files: [FileEntry] = []
        var references = Set<ChunkID>()
        var stats = (bytesAdded: 0, chunksNew: 0, dedup: 0, total: 0)
        for source in sources {
            for item in try FileWalker.walk(source) {
                guard item.entry.type == "file" else {
                    files.append(item.entry)
                    continue
                }
                var entry = item.entry
                let data = try FileWalker.read(item.url)
                let (kind, ends) = chunker.boundaries(data)
                let (ids, digest) = ChunkHasher.parallel(data, ends: ends, hasher: hasher)
                var start = 0
                for (id, end) in zip(ids, ends) {
                    references.insert(id)
                    if known.insert(id).inserted {
                        _ = try writer.add(id, data[data.startIndex + start..<data.startIndex + end])
                        stats.bytesAdded += end - start
                        stats.chunksNew += 1
                    } else {
                        stats.dedup += 1
                    }
                    start = end
                }
                entry.size = data.count
                entry.sha256 = digest
                entry.chunking = kind
                entry.chunks = ChunkID.join(ids)
                stats.total += data.count
                files.append(entry)
            }
        }
        _ = try writer.flush()
        let recipients = try key.parsedRecipients()
        let body = try Age.encrypt(try SnapshotBody(files: files).encoded(), to: recipients)
        let signer = try key.signer()
        let header = SnapshotHeader(
            repository: repository.config.id, node: key.node, seq: (previous?.seq ?? 0) + 1, previous: previous?.id,
            time: time, sources: sources.map(\.name), tags: tags, fileCount: files.filter { $0.type == "file" }.count,
            totalBytes: stats.total, bytesAdded: stats.bytesAdded, chunksNew: stats.chunksNew,
            chunksDeduplicated: stats.dedup, signingKey: signer.publicKey.rawRepresentation,
            references: ChunkPrefix.join(references), body: body)
        let manifest = try SnapshotManifest.encode(header, signer: signer)
        let id = manifest.sha256Hex
        try layout.writeOnce(manifest, to: layout.snapshot(id))
        if let headURL { try ChainHead(seq: header.seq, snapshot: id).write(headURL) }
        return BackupResult(
            snapshot: id, seq: header.seq, fileCount: header.fileCount, totalBytes: stats.total, bytesAdded: stats.bytesAdded,
            packBytesWritten: writer.bytesWritten, manifestBytes: manifest.count, chunksNew: stats.chunksNew,
            chunksDeduplicated: stats.dedup, packs: writer.packsWritten.count, seconds: Date().timeIntervalSince(started))
    }
}
