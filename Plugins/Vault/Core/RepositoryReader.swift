import Dispatch
import Foundation

/// Reads a repository with an identity: decrypts packs and snapshot bodies, writes files back.
public struct RepositoryReader: Sendable {
    /// The repository.
    public let repository: Repository
    let identities: [AgeIdentity]
    let hasher: ChunkHasher
    /// The chunk index, loaded once.
    public let index: ChunkIndex
    /// Buffers packs are read into, reused while this reader lives.
    let buffers = BufferPool()
    /// The repository's chunk key (it enrolled every trusted signing key).
    public var chunkKey: Data { hasher.keyBytes }
    /// The largest pack read: packs are written at about 16 MiB, one chunk (at most 4 MiB) over at
    /// most, and sealed with a few bytes of age framing.
    static let maximumPackBytes = 256 << 20
    /// The repository's snapshots, checked against the keys the repository enrolled.
    public var catalog: SnapshotCatalog { SnapshotCatalog(repository: repository, chunkKey: chunkKey) }

    /// Opens `repository` with `identities`; fails when none of them opens the repository's key,
    /// or the key records disagree (with each other, or with `chunkKey`: the node key file's,
    /// which a forged record in the repository cannot change).
    public init(repository: Repository, identities: [AgeIdentity], chunkKey expected: Data? = nil) throws {
        self.repository = repository
        // Identities retired by key rotations, reachable from these, read what was written before.
        self.identities = repository.expandIdentities(identities)
        do {
            hasher = ChunkHasher(key: try repository.chunkKey(identities: identities, expected: expected))
        } catch let error as VaultError where error.code == .badKey {
            throw VaultError(.badKey, "the identity does not open this repository (it is not one of its recipients)")
        }
        index = ChunkIndex(repository: repository, hasher: hasher)
    }

    /// A pack's plaintext: checks that the file matches its name (unless `checkName` is false: a
    /// restore, which checks every chunk's keyed address, so a swapped pack still fails), then
    /// decrypts and authenticates it.
    func pack(_ id: String, checkName: Bool = true) throws -> Data {
        let url = repository.layout.pack(id)
        // Read into a reused buffer: a fresh 16 MiB allocation per pack costs more in page faults
        // than the read itself. (Not mapped: a pack truncated under a mapping, on a network mount
        // say, would kill the whole server with SIGBUS.)
        // Not blocking: a FIFO put in a pack's place must not hang the open.
        let fd = open(url.path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw VaultProblem(.packMissing, subject: id, "pack \(id.prefix(12)) is missing from packs/") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw VaultError(.io, "cannot read pack \(id.prefix(12)): errno \(errno)") }
        // The size is the file's word until the content is authenticated: a sparse terabyte in a
        // pack's place would otherwise be allocated (and the process killed) before any check.
        guard status.st_mode & S_IFMT == S_IFREG, status.st_size <= Self.maximumPackBytes else {
            throw VaultProblem(
                .packAltered, subject: id,
                "pack \(id.prefix(12)): not a regular file of at most \(Self.maximumPackBytes >> 20) MiB (altered)")
        }
        let size = Int(status.st_size)
        let buffer = buffers.take(size)
        defer { buffers.giveBack(buffer) }
        var done = 0
        while done < size {
            let got = pread(fd, buffer.pointer + done, size - done, off_t(done))
            guard got > 0 else { throw VaultError(.io, "cannot read pack \(id.prefix(12)): errno \(errno)") }
            done += got
        }
        // Only used within this call: the plaintext returned is a copy of its own.
        let sealed = Data(bytesNoCopy: buffer.pointer, count: size, deallocator: .none)
        guard !checkName || Age.isPack(sealed, named: id) else {
            throw VaultProblem(.packAltered, subject: id, "pack \(id.prefix(12)): content does not match its name (altered)")
        }
        do {
            return try Age.decrypt(sealed, identities: identities)
        } catch let error as VaultError {
            throw VaultProblem(.packAltered, subject: id, "pack \(id.prefix(12)): \(error.message)")
        }
    }

    /// Writes `files` (one source's entries) under `root`, which must exist; checks every chunk's
    /// address and every file's SHA-256. Returns the bytes written.
    func materialize(_ files: [FileEntry], into root: URL) throws -> Int {
        var ignored = PackCheck()
        return try materialize(files, into: root, wholePacks: &ignored)
    }

    /// Checks the chunks of a decrypted pack that a restore does not need (verify reads each pack once).
    private func checkUnneeded(_ pack: String, plain: Data, needed: Set<ChunkID>) throws {
        for id in index.packs[pack] ?? [] where !needed.contains(id) {
            guard let location = index.locations[id], location.pack == pack else { continue }
            let range = plain.startIndex + location.offset..<plain.startIndex + location.offset + location.length
            guard range.upperBound <= plain.endIndex, hasher.id(plain[range]) == id else {
                throw VaultProblem(
                    .chunkMismatch, subject: pack,
                    "pack \(pack.prefix(12)): chunk \(id.description.prefix(12)) does not match its address")
            }
        }
    }

    /// What the parallel pack jobs of a restore share: bytes written, packs checked whole, and the
    /// failure of the first pack (in pack order) that failed.
    final class ParallelState: @unchecked Sendable {
        private let lock = NSLock()
        private var whole: PackCheck
        private var bytes = 0
        private var failure: (order: Int, error: Error)?

        init(_ whole: PackCheck) {
            self.whole = whole
        }

        func checked(_ pack: String) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            return whole.packs.contains(pack)
        }

        func recordWhole(_ pack: String, chunks: Int, bytes size: Int) {
            lock.lock()
            defer { lock.unlock() }
            guard whole.packs.insert(pack).inserted else { return }
            whole.chunks += chunks
            whole.bytes += size
        }

        func add(bytes count: Int) {
            lock.lock()
            bytes += count
            lock.unlock()
        }

        func fail(_ error: Error, order: Int) {
            lock.lock()
            defer { lock.unlock() }
            if failure == nil || order < failure?.order ?? 0 { failure = (order, error) }
        }

        func finish() throws -> (whole: PackCheck, bytes: Int) {
            lock.lock()
            defer { lock.unlock() }
            if let failure { throw failure.error }
            return (whole, bytes)
        }
    }

    /// Consecutive pieces of one pack that are also consecutive in one file: one write each.
    static func runs(_ pieces: [(file: Int, fileOffset: Int, location: ChunkLocation, id: ChunkID)]) -> [(
        file: Int, fileOffset: Int, packOffset: Int, length: Int
    )] {
        var runs: [(file: Int, fileOffset: Int, packOffset: Int, length: Int)] = []
        for piece in pieces {
            if let last = runs.last, last.file == piece.file, last.fileOffset + last.length == piece.fileOffset,
                last.packOffset + last.length == piece.location.offset
            {
                runs[runs.count - 1].length += piece.location.length
            } else {
                runs.append((piece.file, piece.fileOffset, piece.location.offset, piece.location.length))
            }
        }
        return runs
    }

    /// Whether a restored file (read back, or its image in memory) is what the snapshot recorded:
    /// its size and chunk list (older snapshots: its SHA-256).
    func matches(_ data: Data, _ entry: FileEntry, _ list: (ids: [ChunkID], ends: [Int])?) -> Bool {
        guard data.count == entry.size else { return false }
        if let sha256 = entry.sha256 { return data.sha256Hex == sha256 }
        guard let list else { return entry.size == 0 }
        return data.count == (list.ends.last ?? 0)
            && hasher.ids(data, ends: list.ends, 0..<list.ends.count, stripes: Self.stripes) == list.ids
    }

    static func mismatch(_ entry: FileEntry) -> VaultProblem {
        VaultProblem(
            .fileMismatch, subject: "\(entry.source)/\(entry.path)",
            "file \(entry.source)/\(entry.path): restored content does not match its signed chunk list (chunks reordered or swapped)"
        )
    }

    /// Threads that hash a restored file again in verify.
    static let stripes = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))

    static func openDirect(_ descriptors: [Int: Int32], _ files: [FileEntry], _ root: URL) -> [Int: Int32] {
        var direct: [Int: Int32] = [:]
        for number in descriptors.keys {
            let entry = files[number]
            let url = entry.path.isEmpty ? root : root.appendingPathComponent(entry.path)
            let fd = open(url.path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | RepositoryLayout.directFlag)
            if fd >= 0 { direct[number] = fd }
        }
        return direct
    }

    /// Packs whose every chunk was checked while restoring, and how much that was.
    struct PackCheck {
        var packs: Set<String> = []
        var chunks = 0
        var bytes = 0
    }

    /// As ``materialize(_:into:)``; with `wholePacks.track`, also checks the chunks of each
    /// decrypted pack the files do not need, and records the packs (verify then skips them).
    /// With `images`, files go into memory instead (verify: nothing written, nothing read back).
    func materialize(
        _ files: [FileEntry], into root: URL, wholePacks: inout PackCheck, track: Bool = false, images: MemoryImages? = nil
    ) throws -> Int {
        let fm = FileManager.default
        var written = 0
        var plan: [String: [(file: Int, fileOffset: Int, location: ChunkLocation, id: ChunkID)]] = [:]
        var descriptors: [Int: Int32] = [:]
        defer { for fd in descriptors.values { close(fd) } }
        // For verify: each file's chunk ids in order and where each ends, to re-read it against.
        var chunkLists: [Int: (ids: [ChunkID], ends: [Int])] = [:]
        try Self.checkPaths(files)
        for (number, entry) in files.enumerated() {
            let url = entry.path.isEmpty ? root : root.appendingPathComponent(entry.path)
            switch entry.type {
            case "dir":
                if images == nil { try fm.createDirectory(at: url, withIntermediateDirectories: true) }
            case "symlink":
                if images == nil { try fm.createSymbolicLink(atPath: url.path, withDestinationPath: entry.target ?? "") }
            default:
                if let images {
                    try images.allocate(number, size: entry.size)
                } else {
                    try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    // Never through a symbolic link (checkPaths refuses a list that would make one
                    // here; this holds should one be there all the same).
                    let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
                    guard fd >= 0 else {
                        throw VaultError(.io, "cannot create \(url.path): \(String(cString: strerror(errno)))")
                    }
                    descriptors[number] = fd
                    guard ftruncate(fd, off_t(entry.size)) == 0 else {
                        throw VaultError(.io, "cannot size \(url.path): \(String(cString: strerror(errno)))")
                    }
                }
                var offset = 0
                var fileEnds: [Int] = []
                let ids = try ChunkID.list(entry.chunks ?? Data())
                for id in ids {
                    guard let location = index.locations[id] else {
                        throw VaultProblem(
                            .chunkMissing, subject: "\(entry.source)/\(entry.path)",
                            "file \(entry.source)/\(entry.path): chunk \(id.description.prefix(12)) at offset \(offset) is in no pack"
                        )
                    }
                    plan[location.pack, default: []].append((number, offset, location, id))
                    offset += location.length
                    fileEnds.append(offset)
                }
                if track && images == nil { chunkLists[number] = (ids, fileEnds) }
            }
        }
        // Packs are decrypted, checked and written on every core at once (each pwrite is to its own range).
        let order = plan.keys.sorted()
        let planned = plan
        let shared = ParallelState(wholePacks)
        // A restore writes page-aligned runs with O_DIRECT (no page-cache copy; fsync then has
        // little left to flush); verify's scratch copy, read again at once, goes through the cache.
        let writer = RestoreWriter(
            buffered: descriptors, direct: track ? [:] : Self.openDirect(descriptors, files, root), images: images)
        defer { writer.closeDirect() }
        parallelFor(order.count, width: 2 * ProcessInfo.processInfo.activeProcessorCount) { [self] number in
            let pack = order[number]
            do {
                let pieces = planned[pack] ?? []
                let plain = try self.pack(pack, checkName: track)
                if track && !shared.checked(pack) {
                    try checkUnneeded(pack, plain: plain, needed: Set(pieces.map(\.id)))
                    shared.recordWhole(
                        pack, chunks: index.packs[pack]?.count ?? 0, bytes: Maintenance.size(repository.layout.pack(pack)))
                }
                for piece in pieces {
                    let range =
                        plain.startIndex + piece.location.offset..<plain.startIndex + piece.location.offset
                        + piece.location.length
                    guard range.upperBound <= plain.endIndex, hasher.id(plain[range]) == piece.id else {
                        throw VaultProblem(
                            .chunkMismatch, subject: pack,
                            "pack \(pack.prefix(12)): chunk \(piece.id.description.prefix(12)) does not match its address")
                    }
                }
                var bytes = 0
                for run in Self.runs(pieces) {
                    let slice = plain[(plain.startIndex + run.packOffset)..<(plain.startIndex + run.packOffset + run.length)]
                    try writer.write(slice, file: run.file, at: run.fileOffset)
                    bytes += run.length
                }
                shared.add(bytes: bytes)
            } catch {
                shared.fail(error, order: number)
            }
        }
        let outcome = try shared.finish()
        wholePacks = outcome.whole
        written += outcome.bytes
        // An image in memory is not hashed again: every chunk copied into it matched its keyed
        // address just before, at the offset the signed list gives (a file on disk is re-read).
        for (number, fd) in descriptors {
            // A restore makes its files durable before the switch; verify's scratch copy needs not.
            let entry = files[number]
            let url = entry.path.isEmpty ? root : root.appendingPathComponent(entry.path)
            if !track, fsync(fd) != 0 {
                throw VaultError(.io, "cannot sync \(url.path): \(String(cString: strerror(errno)))")
            }
            // Every chunk matched its keyed address and the signed list fixes their order, so a
            // restore checks sizes; verify (`track`) also re-reads each file from disk against its
            // signed chunk list (snapshots written before that list was enough: their SHA-256).
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue
            let matches = try track ? self.matches(FileWalker.read(url), entry, chunkLists[number]) : true
            guard size == entry.size, matches else { throw Self.mismatch(entry) }
        }
        for entry in files where entry.type != "symlink" {
            let url = entry.path.isEmpty ? root : root.appendingPathComponent(entry.path)
            // Permission bits only: no set-user-id, set-group-id or sticky bit from a file list.
            try? fm.setAttributes(
                [.posixPermissions: entry.mode & 0o777, .modificationDate: Date(timeIntervalSince1970: entry.mtime)],
                ofItemAtPath: url.path)
        }
        return written
    }

    /// Refuses a file list that would write outside the directory restored into: an absolute
    /// path, a `..`, `.` or empty component, a NUL, an entry under one of its own symbolic
    /// links (which may point anywhere), or a path listed twice (a file written where the list
    /// made a symbolic link would be written through it). A list is signed, but by any key the
    /// repository enrolled; what it names is checked all the same.
    static func checkPaths(_ files: [FileEntry]) throws {
        let links = Set(files.filter { $0.type == "symlink" }.map(\.path))
        var seen = Set<String>()
        for entry in files where !seen.insert(entry.path).inserted {
            throw VaultProblem(
                .fileMismatch, subject: "\(entry.source)/\(entry.path)",
                "file \(entry.source)/\(entry.path): listed twice in the snapshot; refused")
        }
        for entry in files where !entry.path.isEmpty {
            let components = entry.path.split(separator: "/", omittingEmptySubsequences: false)
            let bad =
                entry.path.hasPrefix("/") || entry.path.utf8.contains(0)
                || components.contains { $0.isEmpty || $0 == "." || $0 == ".." }
            var ancestor = ""
            var underLink = false
            for component in components.dropLast() {
                ancestor += ancestor.isEmpty ? String(component) : "/" + component
                if links.contains(ancestor) { underLink = true }
            }
            guard !bad, !underLink else {
                throw VaultProblem(
                    .fileMismatch, subject: "\(entry.source)/\(entry.path)",
                    "file \(entry.source)/\(entry.path): \(bad ? "a path outside the restore" : "under a symbolic link of the snapshot"); refused"
                )
            }
        }
    }
}

/// Writes restored runs: page-aligned ones through an `O_DIRECT` descriptor from a reused aligned
/// buffer, the rest (and everything where direct I/O is refused) through the page cache.
final class RestoreWriter: @unchecked Sendable {
    /// Runs shorter than this are written through the page cache.
    static let directMinimum = 256 << 10
    let buffered: [Int: Int32]
    let direct: [Int: Int32]
    let images: MemoryImages?
    /// Aligned buffers for direct writes, reused.
    private let buffers = BufferPool()

    init(buffered: [Int: Int32], direct: [Int: Int32], images: MemoryImages? = nil) {
        self.buffered = buffered
        self.direct = direct
        self.images = images
    }

    func write(_ bytes: Data, file: Int, at offset: Int) throws {
        if let image = images?.images[file] {
            guard offset >= 0, offset + bytes.count <= image.count else {
                throw VaultError(.io, "restored data past the end of its file")
            }
            bytes.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: image[offset..<offset + bytes.count]))
            return
        }
        let align = AlignedBuffer.alignment
        // Small runs (pages changed here and there) go through the cache: a direct write waits for the disk.
        if let fd = direct[file], offset % align == 0, bytes.count % align == 0, bytes.count >= Self.directMinimum {
            let buffer = buffers.take(bytes.count)
            defer { buffers.giveBack(buffer) }
            buffer.put(bytes, at: 0)
            if pwrite(fd, buffer.pointer, bytes.count, off_t(offset)) == bytes.count { return }
        }
        let result = bytes.withUnsafeBytes { pwrite(buffered[file] ?? -1, $0.baseAddress, $0.count, off_t(offset)) }
        guard result == bytes.count else { throw VaultError(.io, "cannot write restored data: errno \(errno)") }
    }

    func closeDirect() {
        for fd in direct.values { close(fd) }
    }

}

/// Restored files held in memory (anonymous mappings), for verify: a database is checked where it
/// lies, and nothing goes through the page cache twice. The owner calls ``release()``.
final class MemoryImages: @unchecked Sendable {
    /// File number → its bytes. Set before the parallel writes start; each write touches its own range.
    private(set) var images: [Int: UnsafeMutableRawBufferPointer] = [:]

    func allocate(_ file: Int, size: Int) throws {
        guard size > 0 else {
            images[file] = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED
        else { throw VaultError(.io, "cannot map \(size) bytes for a restored file: errno \(errno)") }
        images[file] = UnsafeMutableRawBufferPointer(start: base, count: size)
    }

    /// Unmaps every image.
    func release() {
        for image in images.values where image.count > 0 { munmap(image.baseAddress, image.count) }
        images = [:]
    }
}
