import Crypto
import Dispatch
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

/// Asks a running backup to stop at its next segment (any thread may set it).
public final class BackupCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var checksLeft: Int?

    public init() {}

    /// Cancels itself at the `afterChecks`-th check (a backup stopped part-way, deterministically).
    public init(afterChecks: Int) {
        checksLeft = afterChecks
    }

    /// Asks the backup to stop.
    public func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }

    /// True once ``cancel()`` was called (each call counts as a check).
    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        if let left = checksLeft {
            checksLeft = left - 1
            if left <= 1 { cancelled = true }
        }
        return cancelled
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
    /// Where the time went.
    public var phases: BackupPhases?
}

/// Seconds spent in each phase of a backup (the profile `--json` prints).
public struct BackupPhases: Codable, Sendable {
    /// Wall time before the first file: the lock, the catalog, the chunk index, the key.
    public var prepare = 0.0
    /// Wall time cutting files into chunks and queueing new chunks for the pack jobs (with waits
    /// for a free pack slot).
    public var queue = 0.0
    /// Wall time hashing chunk addresses (on every core).
    public var hash = 0.0
    /// Wall time waiting for the last pack jobs at the end.
    public var packWait = 0.0
    /// Thread time in pack jobs copying and sealing (age, with the pack's SHA-256), summed over jobs.
    public var seal = 0.0
    /// Thread time in pack jobs writing and syncing packs and indexes, summed over jobs.
    public var write = 0.0
    /// Wall time encrypting, signing and writing the manifest.
    public var manifest = 0.0
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
    /// Bytes hashed at once before their new chunks go to the pack jobs.
    public var segmentSize = 8 << 20
    /// Checked between segments: when set, the backup stops before writing a snapshot (the packs
    /// already written are unreferenced; prune frees them) and throws a `.cancelled` error.
    public var cancellation: BackupCancellation?
    /// Threads hashing a segment.
    public var stripes = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))

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
        let catalog = SnapshotCatalog(repository: repository, chunkKey: key.chunkKey)
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
        // Only chunks whose pack is there: a chunk whose pack was lost (verify: pack-missing) is
        // stored again, so this snapshot can be restored and later ones deduplicate against it.
        var known = Set(ChunkIndex(repository: repository, hasher: hasher).storedChunks)
        let packs = PackPipeline(
            layout: layout, recipients: try key.parsedRecipients(), hasher: hasher, targetSize: packSize)
        var files: [FileEntry] = []
        var references = Set<ChunkID>()
        var stats = (bytesAdded: 0, chunksNew: 0, dedup: 0, total: 0)
        var phases = BackupPhases()
        phases.prepare = Date().timeIntervalSince(started)
        for source in sources {
            for item in try FileWalker.walk(source) {
                guard item.entry.type == "file" else {
                    files.append(item.entry)
                    continue
                }
                var entry = item.entry
                let cut = DispatchTime.now()
                let data = try FileWalker.read(item.url)
                let (kind, ends) = chunker.boundaries(data)
                phases.queue += cut.secondsSince
                // No whole-file hash: the signed, ordered list of keyed chunk addresses fixes the
                // content (verify re-reads each restored file against it).
                var ids: [ChunkID] = []
                ids.reserveCapacity(ends.count)
                var first = 0
                while first < ends.count {
                    if cancellation?.isCancelled == true {
                        _ = try? packs.finish()
                        throw VaultError(.cancelled, "backup cancelled (the plugin is stopping); no snapshot was written")
                    }
                    // A segment of about `segmentSize` bytes: hashed on every core, then its new
                    // chunks go to the pack jobs while the next segment is hashed.
                    let base = first == 0 ? 0 : ends[first - 1]
                    var last = first + 1
                    while last < ends.count && ends[last - 1] - base < segmentSize { last += 1 }
                    let clock = DispatchTime.now()
                    let segment = hasher.ids(data, ends: ends, first..<last, stripes: stripes)
                    phases.hash += clock.secondsSince
                    let queued = DispatchTime.now()
                    defer { phases.queue += queued.secondsSince }
                    var start = base
                    for (id, end) in zip(segment, ends[first..<last]) {
                        references.insert(id)
                        if known.insert(id).inserted {
                            try packs.add(id, data, data.startIndex + start..<data.startIndex + end, file: files.count)
                            stats.bytesAdded += end - start
                            stats.chunksNew += 1
                        } else {
                            stats.dedup += 1
                        }
                        start = end
                    }
                    ids += segment
                    first = last
                }
                entry.size = data.count
                entry.chunking = kind
                entry.chunks = ChunkID.join(ids)
                stats.total += data.count
                files.append(entry)
            }
        }
        var clock = DispatchTime.now()
        let written = try packs.finish()
        phases.packWait = clock.secondsSince
        (phases.seal, phases.write) = packs.jobSeconds
        clock = DispatchTime.now()
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
        phases.manifest = clock.secondsSince
        return BackupResult(
            snapshot: id, seq: header.seq, fileCount: header.fileCount, totalBytes: stats.total, bytesAdded: stats.bytesAdded,
            packBytesWritten: written.bytes, manifestBytes: manifest.count, chunksNew: stats.chunksNew,
            chunksDeduplicated: stats.dedup, packs: written.packs.count, seconds: Date().timeIntervalSince(started),
            phases: phases)
    }
}

extension DispatchTime {
    /// Seconds from this time to now.
    var secondsSince: Double { Double(DispatchTime.now().uptimeNanoseconds - uptimeNanoseconds) / 1e9 }
}
